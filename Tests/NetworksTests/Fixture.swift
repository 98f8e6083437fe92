import Foundation

/// Files in this test target's Fixtures folder (made by scripts/make_fixtures.py).
enum Fixture {
    static func url(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) as! [String: Any]
    }

    static func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map(\.floatValue) }
    static func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map(\.intValue) }
}
