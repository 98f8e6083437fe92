import Foundation
import GRDB
import Search
import Tensors
import Testing

/// A gallery file changed by hand (here: its items table rebuilt without NOT NULL, a NULL label, a
/// text where the vector was, a meta key twice) is refused with the file and the column named,
/// never a crash in row decoding.
@Suite("Hand-edited galleries")
struct HandEditedGalleryTests {
    func galleryWithTwoItems(at path: String) throws {
        let store = try SQLiteGalleryStore.create(at: path, dimension: 2, modelFingerprint: nil)
        try store.add([NewItem(path: "a", label: "x"), NewItem(path: "b", label: "y")], vectors: [1, 0, 0, 1])
        try store.close()
    }

    func edit(_ path: String, _ sql: String) throws {
        let database = try DatabaseQueue(path: path)
        try database.write { try $0.execute(sql: sql) }
        try database.close()
    }

    static let unconstrained = """
        ALTER TABLE items RENAME TO old_items;
        CREATE TABLE items (id INTEGER PRIMARY KEY, path TEXT, label TEXT, vector BLOB, added REAL, metadata TEXT);
        INSERT INTO items SELECT * FROM old_items;
        DROP TABLE old_items;
        """

    @Test func aNullLabelIsAnErrorNotACrash() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/g.akin"
        try galleryWithTwoItems(at: path)
        try edit(path, Self.unconstrained + "UPDATE items SET label = NULL WHERE id = 1;")
        let store = try SQLiteGalleryStore.open(path)
        #expect { try store.items() } throws: { "\($0)".contains(path) && "\($0)".contains("label") }
        #expect { try store.items(ids: [1]) } throws: { "\($0)".contains("label") }
        #expect { try store.labelCounts() } throws: { "\($0)".contains("label") }
        #expect(try store.items(ids: [0])[0]?.label == "x", "the rows that are whole still read")
    }

    @Test func aVectorThatIsNoBlobAndARepeatedMetaKeyAreErrorsNotCrashes() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/g.akin"
        try galleryWithTwoItems(at: path)
        try edit(path, Self.unconstrained + "UPDATE items SET vector = NULL WHERE id = 0;")
        #expect { try SQLiteGalleryStore.open(path).allVectors() } throws: { "\($0)".contains("vector") }

        try edit(path, """
            ALTER TABLE meta RENAME TO old_meta;
            CREATE TABLE meta (key TEXT, value TEXT);
            INSERT INTO meta SELECT * FROM old_meta;
            INSERT INTO meta VALUES ('dimension', '7');
            DROP TABLE old_meta;
            """)
        #expect(try SQLiteGalleryStore.open(path).info.dimension == 2, "the first of a repeated key counts")
    }
}
