extension StringProtocol {
    /// Without the characters at either end for which `drop` holds.
    public func trimmed(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else { return "" }
        return String(self[first...last])
    }

    /// Without the spaces and tabs at either end.
    public func trimmedOfSpaces() -> String { trimmed { $0 == " " || $0 == "\t" } }

    /// Without the white space (spaces, tabs, line breaks) at either end.
    public func trimmedOfWhitespace() -> String { trimmed(\.isWhitespace) }
}
