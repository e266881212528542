@testable import FleetLoad
import Testing

@Suite struct ChartTests {
    @Test func scalesRoundUpToNiceSteps() {
        #expect(ChartScale(maximum: 87) == ChartScale(step: 20, top: 100))
        #expect(ChartScale(maximum: 100) == ChartScale(step: 20, top: 100))
        #expect(ChartScale(maximum: 101) == ChartScale(step: 50, top: 150))
        #expect(ChartScale(maximum: 0.37) == ChartScale(step: 0.1, top: 0.4))
        #expect(ChartScale(maximum: 9, ticks: 10) == ChartScale(step: 1, top: 9))
        #expect(ChartScale(maximum: 0) == ChartScale(step: 0.2, top: 1))
        #expect(ChartScale(maximum: .nan) == ChartScale(step: 0.2, top: 1))
        #expect(ChartScale(maximum: 87).ticks == [0, 20, 40, 60, 80, 100])
        // Whole seconds: no 0.5 ticks on a 3-second run.
        #expect(ChartScale(maximum: 3, ticks: 10, wholeSteps: true) == ChartScale(step: 1, top: 3))
    }

    @Test func mapsValuesOntoPixelsEitherWayAndClamps() {
        let scale = ChartScale(maximum: 100)
        // Rows grow downwards: zero at the bottom (300), the top value at 100.
        #expect(scale.pixel(0, from: 300, to: 100) == 300)
        #expect(scale.pixel(100, from: 300, to: 100) == 100)
        #expect(scale.pixel(50, from: 300, to: 100) == 200)
        #expect(scale.pixel(250, from: 300, to: 100) == 100)
        #expect(scale.pixel(-5, from: 300, to: 100) == 300)
        #expect(scale.pixel(25, from: 10, to: 90) == 30)
    }

    @Test func labelsShowTheDecimalsTheStepNeeds() {
        #expect(ChartScale(maximum: 87).label(40) == "40")
        #expect(ChartScale(maximum: 0.37).label(0.2) == "0.2")
        #expect(ChartScale(maximum: 0.037).label(0.02) == "0.02")
    }

    @Test func linesLandWhereTheScaleSays() {
        let chart = LineChart(
            title: "T", yLabel: "ms", xLabel: "s", x: [0, 1, 2], series: [.init(name: "p50", color: .red, values: [0, 100, nil])], width: 300, height: 200
        )
        let raster = chart.render()
        let plot = chart.plot
        // The first point sits on the x axis at the left edge; the second on the top at x = 1.
        #expect(raster[plot.left, plot.bottom] == .red)
        let x1 = chart.xScale.pixel(1, from: plot.left, to: plot.right)
        let top = chart.yScale.pixel(100, from: plot.bottom, to: plot.top)
        #expect(raster[x1, top] == .red)
        // Nothing is drawn for the missing third value: the right part of the plot has no red.
        let x2 = chart.xScale.pixel(2, from: plot.left, to: plot.right)
        #expect((x1 + 3...x2).allSatisfy { x in (plot.top...plot.bottom).allSatisfy { raster[x, $0] != .red } })
    }

    @Test func textUsesTheBuiltInFont() {
        var raster = Raster(width: 20, height: 10)
        raster.text("1", x: 0, y: 0, .black)
        // "1": rows 04 0C 04 04 04 04 0E, so the column at x = 2 is set all the way down.
        #expect((0..<7).allSatisfy { raster[2, $0] == .black })
        #expect(raster[0, 0] == .white && raster[1, 1] == .black && raster[0, 6] == .white && raster[1, 6] == .black)
        #expect(BitmapFont.rows(for: "a") == BitmapFont.rows(for: "A"))
        #expect(BitmapFont.rows(for: "€") == BitmapFont.rows(for: "?"))
    }
}
