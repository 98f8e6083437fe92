import Foundation

/// FNV-1a, 64-bit: a short identity for bytes (model fingerprints, training-data identity).
/// Not cryptographic: it tells files apart, it does not defend against forgery.
public struct FNV1a {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    }

    /// Sixteen hex digits.
    public var hex: String { String(value, radix: 16).zeroPadded(to: 16) }
}

/// A running count that worker threads add to.
public final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init() {}

    /// Adds `n` and returns the new total.
    public func add(_ n: Int) -> Int { lock.lock(); defer { lock.unlock() }; count += n; return count }
    public var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// Carries a value (a buffer's address) into concurrent workers when the caller guarantees what
/// the compiler cannot: the workers touch disjoint parts and all finish before the call returns.
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}

extension String {
    /// Left-pads with zeros to `length` characters (file names that sort, fixed-width hashes).
    public func zeroPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
