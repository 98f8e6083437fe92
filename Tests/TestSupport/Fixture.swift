import Foundation

/// Files in the calling test target's Fixtures folder (made by scripts/make_fixtures.py), found
/// beside the calling source file so no resource bundle is needed.
public enum Fixture {
    public static func url(_ name: String, file: StaticString = #filePath) -> URL {
        URL(fileURLWithPath: "\(file)").deletingLastPathComponent().appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    public static func json(_ name: String, file: StaticString = #filePath) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name, file: file))) as! [String: Any]
    }

    public static func floats(_ value: Any?) -> [Float] { (value as! [NSNumber]).map(\.floatValue) }
    public static func ints(_ value: Any?) -> [Int] { (value as! [NSNumber]).map(\.intValue) }
}
