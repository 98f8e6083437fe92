import Akin
import Foundation
import TestSupport
import Testing

/// `Gallery.search(_:options:)`: filters, grouping, paging, floors, "more like this item" and the
/// search-time knobs, checked against the definition (rank every item, then keep) on an HNSW index
/// too small to miss anything and on IVF-PQ.
@Suite("Gallery queries")
struct GalleryQueryTests {
    /// 300 random 12-d items labelled l0…l9, and the vectors as added.
    func gallery(at path: String) throws -> (Gallery, [[Float]]) {
        var generator = RandomGenerator(seed: 11)
        let vectors = (0..<300).map { _ in (0..<12).map { _ in generator.nextFloat() * 2 - 1 } }
        let gallery = try Gallery.create(at: path, dimension: 12)
        try gallery.add((0..<300).map { NewItem(path: "p\($0)", label: "l\($0 % 10)", metadata: "{\"n\":\($0)}") },
                        vectors: Tensor(shape: [300, 12], values: vectors.flatMap { $0 }))
        return (gallery, vectors)
    }

    /// Every id by cosine similarity to `query`, best first: the definition.
    func ranked(_ vectors: [[Float]], _ query: [Float]) -> [Int] { cosineRanking(vectors, query) }

    @Test(arguments: GalleryBackend.allCases, [false, true]) func optionsKeepWhatTheDefinitionKeeps(backend: GalleryBackend, indexed: Bool) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let (gallery, vectors) = try gallery(at: place.address("g"))
        // efConstruction and efSearch past the item count: the graph search is exhaustive, so it must agree exactly.
        if indexed { try gallery.buildIndex(IndexSettings(kind: .hnsw, efConstruction: 400, efSearch: 400)) }
        let query = vectors[5].map { $0 + 0.1 }
        let order = ranked(vectors, query)
        func ids(_ options: SearchOptions, _ q: GalleryQuery = .vector([])) throws -> [Int] {
            let asked: GalleryQuery = q == .vector([]) ? .vector(query) : q
            return try gallery.search([asked], options: options)[0].hits.map(\.id)
        }
        #expect(try ids(SearchOptions(k: 7)) == Array(order.prefix(7)))
        #expect(try ids(SearchOptions(k: 7, offset: 7)) == Array(order[7..<14]))
        let only = LabelFilter(only: ["l3", "l4"])
        #expect(try ids(SearchOptions(k: 9, labels: only)) == Array(order.filter { [3, 4].contains($0 % 10) }.prefix(9)))
        #expect(try ids(SearchOptions(k: 5, offset: 20, labels: only)) == Array(order.filter { [3, 4].contains($0 % 10) }[20..<25]))
        let never = LabelFilter(excluding: ["l0", "l1", "l2"])
        #expect(try ids(SearchOptions(k: 9, labels: never)) == Array(order.filter { $0 % 10 > 2 }.prefix(9)))
        // A label with few items: the search widens until it has them all.
        try gallery.add([NewItem(path: "rare", label: "rare")], vectors: Tensor(shape: [1, 12], values: vectors[299].map { -$0 }))
        #expect(try ids(SearchOptions(k: 3, labels: LabelFilter(only: ["rare"]))) == [300])
        // Grouping: the best item of each label admitted (item 300 is the one "rare" item).
        var seen = Set<String>()
        let label = { (i: Int) in i == 300 ? "rare" : "l\(i % 10)" }
        let grouped = ranked(vectors + [vectors[299].map { -$0 }], query).filter { !never.excluding.contains(label($0)) && seen.insert(label($0)).inserted }
        #expect(try ids(SearchOptions(k: 10, labels: never, groupByLabel: true)) == grouped)
        #expect(try ids(SearchOptions(k: 4), .item(5)) == Array(ranked(vectors, vectors[5]).filter { $0 != 5 }.prefix(4)))
        // More asked than can be kept: every admitted label once, then the search stops widening.
        #expect(try ids(SearchOptions(k: 50, groupByLabel: true)).count == 11)
        #expect(try ids(SearchOptions(k: 50, labels: LabelFilter(only: ["rare"])), .item(300)) == [])
        #expect(throws: GalleryError.self) { try gallery.search(Array(repeating: .vector(query), count: 30), options: SearchOptions(k: 10_000)) }

        let floor = try gallery.search([.vector(query)], options: SearchOptions(k: 300, minimumSimilarity: 0.3))[0].hits
        #expect(!floor.isEmpty && floor.allSatisfy { $0.similarity >= 0.3 } && floor.map(\.id) == Array(order.prefix(floor.count)))
        let judged = try gallery.search([.vector(query)], options: SearchOptions(k: 2, threshold: 0.99))[0]
        #expect(!judged.match && judged.threshold == 0.99 && judged.hits.count == 2)
        #expect(judged.hits[0].metadata == "{\"n\":\(order[0])}")

        #expect(throws: GalleryError.noSuchItem(999)) { try gallery.search([.item(999)], options: SearchOptions(k: 1)) }
        #expect(throws: GalleryError.badOption("k", "must be 1…10000, not 0")) { try gallery.search([.vector(query)], options: SearchOptions(k: 0)) }
        #expect(throws: GalleryError.self) { try gallery.search([.vector(query)], options: SearchOptions(k: 1, probe: 3)) }
        if indexed {
            // ef applies to this search only; exact search keeps its own flat index beside the graph.
            #expect(try ids(SearchOptions(k: 5, efSearch: 300)) == Array(order.prefix(5)))
            #expect(try ids(SearchOptions(k: 5, exact: true)) == Array(order.prefix(5)))
            #expect(try gallery.loadIndex() == IndexUse(kind: .hnsw, outcome: .loaded), "an exact search did not unload the index")
            #expect(throws: GalleryError.self) { try gallery.search([.vector(query)], options: SearchOptions(k: 1, exact: true, efSearch: 3)) }
        } else {
            #expect(throws: GalleryError.self) { try gallery.search([.vector(query)], options: SearchOptions(k: 1, efSearch: 3)) }
        }
    }

    @Test(arguments: GalleryBackend.allCases) func itemsArePagedRemovedByLabelAndSnapshotted(backend: GalleryBackend) throws {
        guard let place = try backend.place() else { return }
        defer { place.remove() }
        let root = place.folder
        let (gallery, _) = try gallery(at: place.address("g"))
        #expect(try gallery.items(after: 10, limit: 3, labels: ["l2"]).map(\.id) == [12, 22, 32])
        #expect(try gallery.item(id: 7)?.label == "l7")
        #expect(try gallery.remove(labels: LabelFilter(only: ["l2", "l3"])) == 60)
        #expect(try gallery.count == 240)
        try gallery.snapshot(to: root + "/copy.akin")
        #expect(throws: GalleryStoreError.self) { try gallery.snapshot(to: root + "/copy.akin") }
        let copy = try Gallery.open(root + "/copy.akin", readOnly: true)
        #expect(try copy.count == 240 && (copy.store as? SQLiteGalleryStore)?.integrityCheck() == "ok")
    }
}
