import Foundation

/// Finds the first number in a JSON document that no manifest field can hold: one that is not a
/// whole number within the 64-bit integer range.
///
/// Foundation's decoder reports such a number only as "not valid JSON", with no key, which sends an
/// operator hunting through a 60 MiB file. This second pass, run only after a decode failed, names it.
enum JSONNumberCheck {
    /// The key path (`slabs.3.samples`) and text of the first such number, or nil when every number fits
    /// (or the document is not JSON at all).
    static func firstUnrepresentable(in bytes: [UInt8]) -> (path: String, number: String)? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) else { return nil }
        return search(root, path: [])
    }

    private static func search(_ value: Any, path: [String]) -> (path: String, number: String)? {
        switch value {
        case let object as [String: Any]:
            for key in object.keys.sorted() {
                if let found = search(object[key]!, path: path + [key]) { return found }
            }
        case let array as [Any]:
            for (index, element) in array.enumerated() {
                if let found = search(element, path: path + [String(index)]) { return found }
            }
        case let number as NSNumber where !(number is Bool):
            // Signed integer storage types ("c" is also how a Bool is stored, excluded above) fit Int64;
            // "Q" (beyond Int64), "d" (fraction or exponent) and decimal numbers do not.
            let type = String(cString: number.objCType)
            if !["c", "s", "i", "l", "q"].contains(type) {
                return (path.joined(separator: "."), "\(number)")
            }
        default:
            break
        }
        return nil
    }
}
