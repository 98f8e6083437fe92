/// Sizes read from files, multiplied without overflow: a header may claim anything.
public enum CheckedSize {
    /// The product of `factors`; nil when one is negative or the product passes `limit`
    /// (an overflow passes every limit).
    public static func product(_ factors: [Int], limit: Int = .max) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow, next <= limit else { return nil }
            result = next
        }
        return result
    }
}
