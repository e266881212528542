import Foundation

/// A value axis with round tick marks: from zero to the smallest multiple of a 1, 2 or 5
/// (times a power of ten) step at or above the largest value, so that ticks read 0, 20,
/// 40... rather than 0, 17.3, 34.6. Maps values onto pixel rows or columns.
struct ChartScale: Equatable {
    let step: Double
    let top: Double

    init(step: Double, top: Double) {
        self.step = step
        self.top = top
    }

    /// About `ticks` steps up to `maximum`; an empty or zero series gets 0...1. With
    /// `wholeSteps` no step is below 1 (an axis of whole seconds).
    init(maximum: Double, ticks: Int = 5, wholeSteps: Bool = false) {
        guard maximum.isFinite, maximum > 0 else {
            step = 0.2
            top = 1
            return
        }
        let raw = maximum / Double(max(1, ticks))
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        let fraction = raw / magnitude
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        step = wholeSteps ? max(1, nice * magnitude) : nice * magnitude
        top = (maximum / step).rounded(.up) * step
    }

    /// The tick values, from 0 to `top`.
    var ticks: [Double] {
        let count = Int((top / step).rounded())
        return (0...count).map { Double($0) * step }
    }

    /// Where `value` falls on a span of pixels from `low` (zero) to `high` (`top`); either
    /// may be the larger (screen rows grow downwards). Values past the ends are clamped.
    func pixel(_ value: Double, from low: Int, to high: Int) -> Int {
        let fraction = min(1, max(0, value / top))
        return low + Int((fraction * Double(high - low)).rounded())
    }

    /// A tick's label: whole numbers when the step is, else as many decimals as it needs.
    func label(_ value: Double) -> String {
        if step >= 1 { return String(Int(value.rounded())) }
        let decimals = max(1, Int((-log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }
}
