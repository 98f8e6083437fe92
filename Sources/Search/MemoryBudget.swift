import Foundation

/// The resident memory an index of each kind needs, and the settings that fit a budget (`--memory`).
public enum MemoryBudget {
    public struct TooSmall: Error, CustomStringConvertible {
        public var kind: IndexKind
        public var budget: Int
        public var needed: Int
        public var count: Int

        public var description: String {
            "a \(kind) index of \(count) items needs about \(MemoryBudget.format(needed)) resident, more than --memory \(MemoryBudget.format(budget)); "
                + (kind == .ivfpq ? "raise --memory" : "raise --memory or use --kind ivfpq, which keeps a few bytes per item")
        }
    }

    /// Estimated resident bytes of an index of `count` items of `dimension` built with `settings`
    /// (the id maps' dictionary entries counted at 48 bytes).
    public static func estimate(_ settings: IndexSettings, count n: Int, dimension d: Int) -> Int {
        switch settings.kind {
        case .hnsw:
            let m = settings.hnswParameters.m
            // Vector, base links, id, flags, id map, and the upper layers (a 1/M share of nodes each).
            return n * (4 * d + 4 * (2 * m + 1) + 8 + 2 + 48 + 4 * (m + 1) / max(m - 1, 1))
        case .sq8:
            return n * (d + 8) + 8 * d
        case .ivfpq:
            let p = settings.ivfpqParameters
            let sq = p.subquantizers > 0 ? p.subquantizers : IVFPQParameters.subquantizers(dimension: d, bytesPerVector: nil)!
            return n * (sq + 8) + ivfpqShared(settings, count: n, dimension: d)
        case .flat:
            return n * (4 * d + 8 + 48)
        }
    }

    /// IVF-PQ's bytes that do not grow with the items: cell centroids and lists, codebooks.
    static func ivfpqShared(_ settings: IndexSettings, count n: Int, dimension d: Int) -> Int {
        let p = settings.ivfpqParameters
        let lists = p.lists > 0 ? p.lists : Int(4 * Double(max(n, 1)).squareRoot())
        return lists * (4 * d + 64) + 4 * 256 * d
    }

    /// `settings` with what the budget leaves open chosen to fit it: for IVF-PQ the most code bytes
    /// per item (sub-quantisers, a divisor of the dimension) that fit; other kinds are checked only.
    public static func fit(_ settings: IndexSettings, budget: Int, count n: Int, dimension d: Int) throws -> IndexSettings {
        var fitted = settings
        if settings.kind == .ivfpq && settings.subquantizers == nil {
            let perItem = Double(budget - ivfpqShared(settings, count: n, dimension: d)) / Double(max(n, 1))
            guard let sq = IVFPQParameters.subquantizers(dimension: d, bytesPerVector: perItem) else {
                var smallest = settings
                smallest.subquantizers = 1
                throw TooSmall(kind: settings.kind, budget: budget, needed: estimate(smallest, count: n, dimension: d), count: n)
            }
            fitted.subquantizers = sq
        }
        let needed = estimate(fitted, count: n, dimension: d)
        guard needed <= budget else { throw TooSmall(kind: settings.kind, budget: budget, needed: needed, count: n) }
        return fitted
    }

    /// Reads sizes like 512MB, 2GB, 64KiB or a plain byte count (units are powers of 1024).
    public static func parse(_ text: String) -> Int? {
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("KB", 1 << 10), ("MB", 1 << 20),
                                      ("GB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("B", 1)]
        let upper = text.uppercased().filter { $0 != " " }
        for (suffix, scale) in units where upper.hasSuffix(suffix) {
            // "infGB", "nanMB" and sizes past Int's range are no sizes (Int(_:) of them traps).
            guard let value = Double(upper.dropLast(suffix.count)), value > 0, value.isFinite,
                  value * Double(scale) < Double(Int.max) else { return nil }
            return max(1, Int(value * Double(scale)))
        }
        guard let value = Int(upper), value > 0 else { return nil }
        return value
    }

    public static func format(_ bytes: Int) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GB", Double(bytes) / Double(1 << 30))
            : bytes >= 1 << 20 ? String(format: "%.1f MB", Double(bytes) / Double(1 << 20))
            : String(format: "%.1f KB", Double(bytes) / 1024)
    }
}
