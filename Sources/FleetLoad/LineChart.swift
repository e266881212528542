/// A line chart of series over time, drawn onto a raster: a title, a legend, a y axis from
/// zero with round ticks, an x axis in seconds, and one line per series. Values that are
/// nil (no data that second) leave a gap in the line.
struct LineChart {
    struct Series {
        let name: String
        let color: Raster.Color
        let values: [Double?]
    }

    let title: String
    let yLabel: String
    let xLabel: String
    /// The x value (seconds) of each point; every series has one value per entry.
    let x: [Double]
    let series: [Series]
    var width = 900
    var height = 420

    /// The plot area inside the margins (left for tick labels, top for title and legend).
    var plot: (left: Int, top: Int, right: Int, bottom: Int) {
        (left: 64, top: 48, right: width - 24, bottom: height - 44)
    }

    /// From zero to a round value above the largest one, with a little headroom so that a
    /// flat line at the maximum does not run along the frame.
    var yScale: ChartScale {
        ChartScale(maximum: (series.flatMap { $0.values.compactMap { $0 } }.max() ?? 0) * 1.05)
    }

    var xScale: ChartScale { ChartScale(maximum: x.max() ?? 0, ticks: 10, wholeSteps: true) }

    func render() -> Raster {
        var raster = Raster(width: width, height: height)
        let plot = plot
        let yScale = yScale
        let xScale = xScale
        raster.text(title, x: plot.left, y: 10, .black, scale: 2)
        // Legend, right-aligned on the title's line.
        var legendX = plot.right
        for entry in series.reversed() {
            legendX -= Raster.textWidth(entry.name) + 22
            raster.fill(x: legendX, y: 16, width: 14, height: 3, entry.color)
            raster.text(entry.name, x: legendX + 18, y: 14, .black)
        }
        for tick in yScale.ticks {
            let y = yScale.pixel(tick, from: plot.bottom, to: plot.top)
            raster.line(from: (plot.left, y), to: (plot.right, y), tick == 0 ? .axis : .grid)
            let label = yScale.label(tick)
            raster.text(label, x: plot.left - 6 - Raster.textWidth(label), y: y - 3, .black)
        }
        for tick in xScale.ticks {
            let x = xScale.pixel(tick, from: plot.left, to: plot.right)
            raster.line(from: (x, plot.bottom), to: (x, plot.bottom + 4), .axis)
            let label = xScale.label(tick)
            raster.text(label, x: x - Raster.textWidth(label) / 2, y: plot.bottom + 8, .black)
        }
        raster.line(from: (plot.left, plot.top), to: (plot.left, plot.bottom), .axis)
        raster.text(xLabel, x: (plot.left + plot.right - Raster.textWidth(xLabel)) / 2, y: plot.bottom + 24, .axis)
        raster.text(yLabel, x: 4, y: plot.top - 14, .axis)
        for entry in series {
            var previous: (x: Int, y: Int)?
            for (index, value) in entry.values.enumerated() where index < x.count {
                guard let value else {
                    previous = nil
                    continue
                }
                let point = (x: xScale.pixel(x[index], from: plot.left, to: plot.right), y: yScale.pixel(value, from: plot.bottom, to: plot.top))
                if let previous {
                    raster.line(from: previous, to: point, entry.color, thickness: 2)
                } else {
                    raster.fill(x: point.x - 1, y: point.y - 1, width: 3, height: 3, entry.color)
                }
                previous = point
            }
        }
        return raster
    }

    func png() -> [UInt8] { PNGEncoder.encode(render()) }
}
