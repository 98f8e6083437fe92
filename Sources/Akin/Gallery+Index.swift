import Foundation

/// What ``Gallery/buildIndex(_:memoryBudget:reporter:)`` made.
public struct IndexBuild {
    /// The settings used: those asked for, with the code size fitted to the memory budget.
    public var settings: IndexSettings
    public var items: Int
    public var seconds: Double
    /// Size of the index file (0 for a PostgreSQL gallery, whose index is in the database).
    public var fileBytes: Int
    /// Resident memory of a compressed index (SQ8, IVF-PQ), whose exact vectors stay in the gallery; nil for the others.
    public var residentBytes: Int?
}

extension Gallery {
    /// Builds an index of every item, saves it beside the gallery and records its settings, so
    /// searches use it from now on (and keep it in step as items are added and removed).
    /// - Parameters:
    ///   - settings: the kind and its parameters; those left nil take the kind's defaults.
    ///   - memoryBudget: bytes the index may keep resident: IVF-PQ picks its code size to fit, the
    ///     other kinds are checked against it.
    ///   - reporter: receives the build's progress.
    @discardableResult
    public func buildIndex(_ settings: IndexSettings, memoryBudget: Int? = nil, reporter: any WorkReporter = SilentReporter()) throws -> IndexBuild {
        var settings = settings
        let total = try store.count, dimension = info.dimension
        if let subquantizers = settings.subquantizers, dimension % subquantizers != 0 {
            throw IndexSettingsError.subquantizersNotADivisor(subquantizers, dimension: dimension)
        }
        if let problem = settings.problem(dimension: dimension) { throw IndexSettingsError.unusable(problem) }
        if let memoryBudget { settings = try MemoryBudget.fit(settings, budget: memoryBudget, count: total, dimension: dimension) }
        let progress = reporter.begin("indexing", total: max(total, 1), unit: "items")
        let started = Date()
        if let database = store as? PostgresGalleryStore {
            // pgvector builds its index in the database; it reports no progress of its own.
            try database.buildIndex(settings)
            progress(max(total, 1))
            loaded = nil
            loadedExact = nil
            return IndexBuild(settings: settings, items: total, seconds: Date().timeIntervalSince(started), fileBytes: 0, residentBytes: nil)
        }
        if settings.kind == .sq8 || settings.kind == .ivfpq { settings.trainedOn = total }
        let (index, state) = try GalleryIndex.build(store, settings: settings) { done, _ in progress(min(done, max(total, 1))) }
        let seconds = Date().timeIntervalSince(started)
        try IndexFile.save(index, state: state, to: indexPath)
        try store.setIndexSettings(settings)
        loaded = nil
        loadedExact = nil
        let bytes = (try? FileManager.default.attributesOfItem(atPath: indexPath)[.size] as? Int) ?? 0
        return IndexBuild(settings: settings, items: index.count, seconds: seconds, fileBytes: bytes,
                          residentBytes: (index as? any CompressedIndex)?.residentBytes)
    }
}

/// Whether a gallery's index file matches the gallery.
public enum IndexFreshness: Sendable, Equatable {
    /// No index was built: searches are exact.
    case none
    case upToDate(IndexKind)
    /// Built before some adds or removes; the next search catches it up (or rebuilds it).
    case stale(IndexKind)
    /// Missing, damaged or of another gallery; the next search rebuilds it.
    case unusable(IndexKind, reason: String)
}

extension Gallery {
    /// Reads the index file's header and checks it against the gallery, changing nothing.
    public func indexFreshness() throws -> IndexFreshness {
        guard let settings = try store.indexSettings else { return .none }
        if let database = store as? PostgresGalleryStore {
            // pgvector keeps its index up to date inside every transaction.
            guard settings.kind == .hnsw else { return .none }
            return try database.hasDatabaseIndex ? .upToDate(.hnsw) : .unusable(.hnsw, reason: "pgvector's index is missing from the database; build it again with `akin index build`")
        }
        do {
            let (_, built) = try IndexFile.load(from: indexPath)
            return built == (try store.state) ? .upToDate(settings.kind) : .stale(settings.kind)
        } catch {
            return .unusable(settings.kind, reason: "\(error)")
        }
    }
}

/// Index settings that do not fit the gallery.
public enum IndexSettingsError: Error, CustomStringConvertible, Equatable {
    case subquantizersNotADivisor(Int, dimension: Int)
    /// Outside what any index can be built with (`IndexSettings.problem(dimension:)`).
    case unusable(String)

    public var description: String {
        switch self {
        case let .subquantizersNotADivisor(m, d): return "--subquantizers \(m) must divide the gallery's dimension \(d)"
        case let .unusable(problem): return "these index settings cannot be used: \(problem)"
        }
    }
}

extension Gallery {
    /// The index searches use now, without reading or loading anything: its kind and how it was
    /// found, and whether it already holds every committed add and remove (a search catches it up
    /// first when not). Nil before the first search or ``loadIndex(exact:reporter:)``.
    public func indexInMemory() throws -> (use: IndexUse, current: Bool)? {
        guard let loaded else { return nil }
        return (loaded.use, loaded.state == (try store.state))
    }
}
