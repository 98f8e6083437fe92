import Glibc

/// A growable array of plain values in its own anonymous memory mapping, which the kernel is asked
/// to back with 2 MB pages (transparent huge pages, `madvise` mode on Debian). A graph search jumps
/// between vectors and link lists all over a gallery: with 4 KB pages nearly every jump also misses
/// the TLB, and that page walk cost as much as the distance it was fetching. Where huge pages are
/// off, the advice is ignored and this is an ordinary array. Where the mapping itself is refused
/// (an address-space limit, `vm.max_map_count`, a sandbox without `mmap`), the storage falls back
/// to ordinary heap memory: the same values, only without the huge-page speed-up.
final class HugePageStorage<Element: BitwiseCopyable> {
    private static var hugePage: Int { 2 << 20 }

    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity = 0
    /// How the current block was obtained, so it is released the same way.
    private var block = Block.none
    /// Tests turn mapping off to run the fallback on a machine where mmap works.
    private let mapping: Bool

    private enum Block {
        case none
        case mapped(bytes: Int)
        case heap
    }

    init(capacity: Int = 0, mapping: Bool = true) {
        self.mapping = mapping
        pointer = UnsafeMutablePointer(bitPattern: MemoryLayout<Element>.alignment)!
        if capacity > 0 { reserve(capacity) }
    }

    /// Whether the storage lives in a huge-page mapping rather than ordinary heap memory.
    var isMapped: Bool { if case .mapped = block { true } else { false } }

    convenience init(_ values: [Element]) {
        self.init(capacity: values.count)
        values.withUnsafeBufferPointer { append(contentsOf: $0) }
    }

    deinit { Self.release(pointer, block) }

    private static func release(_ pointer: UnsafeMutablePointer<Element>, _ block: Block) {
        switch block {
        case .none: break
        case let .mapped(bytes): munmap(pointer, bytes)
        case .heap: UnsafeMutableRawPointer(pointer).deallocate()
        }
    }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
            return pointer[index]
        }
        set {
            precondition(index >= 0 && index < count, "index \(index) out of range 0..<\(count)")
            pointer[index] = newValue
        }
    }

    func append(contentsOf values: UnsafeBufferPointer<Element>) {
        guard let source = values.baseAddress, !values.isEmpty else { return }
        reserve(count + values.count)
        (pointer + count).initialize(from: source, count: values.count)
        count += values.count
    }

    func append(repeating value: Element, count added: Int) {
        reserve(count + added)
        (pointer + count).initialize(repeating: value, count: added)
        count += added
    }

    /// Room for `wanted` elements; grows by doubling, so appends one at a time stay amortised O(1).
    func reserve(_ wanted: Int) {
        guard wanted > capacity else { return }
        let elements = max(wanted, 2 * capacity)
        let page = Int(getpagesize())
        let bytes = (elements * MemoryLayout<Element>.stride + page - 1) / page * page
        let fresh: UnsafeMutableRawPointer, freshBlock: Block
        if mapping, let mapped = Self.map(bytes) {
            (fresh, freshBlock) = (mapped, .mapped(bytes: bytes))
        } else {
            // Zeroed like a fresh mapping. A heap that cannot give the bytes either stops the
            // process, as any Swift allocation does when memory is exhausted.
            fresh = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(64, MemoryLayout<Element>.alignment))
            fresh.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            freshBlock = .heap
        }
        let grown = fresh.bindMemory(to: Element.self, capacity: bytes / MemoryLayout<Element>.stride)
        if count > 0 { grown.initialize(from: pointer, count: count) }
        Self.release(pointer, block)
        pointer = grown
        block = freshBlock
        capacity = bytes / MemoryLayout<Element>.stride
    }

    /// `bytes` of zeroed memory; from 2 MB up, starting on a 2 MB boundary (only whole aligned
    /// 2 MB ranges can become huge pages) and advised to be backed by huge pages. nil when the
    /// system refuses the mapping.
    private static func map(_ bytes: Int) -> UnsafeMutableRawPointer? {
        let huge = bytes >= hugePage
        let slack = huge ? hugePage : 0
        guard let mapped = mmap(nil, bytes + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else {
            return nil
        }
        guard huge else { return mapped }
        let start = Int(bitPattern: mapped)
        let aligned = (start + hugePage - 1) / hugePage * hugePage
        if aligned > start { munmap(mapped, aligned - start) }
        let end = aligned + bytes, mappedEnd = start + bytes + slack
        if mappedEnd > end { munmap(UnsafeMutableRawPointer(bitPattern: end)!, mappedEnd - end) }
        let region = UnsafeMutableRawPointer(bitPattern: aligned)!
        _ = madvise(region, bytes, MADV_HUGEPAGE)
        return region
    }

    var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
