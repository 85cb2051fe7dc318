/// Spans of time as a person reads them in a message.
public enum DurationText {
    /// A positive span, seconds rounded up: `2h5m`, `3m20s`, `10m`, `45s` (hours drop the seconds).
    public static func rough(ms: Int64) -> String {
        let s = ms / 1000 + (ms % 1000 > 0 ? 1 : 0)
        if s >= 3600 { return s % 3600 / 60 == 0 ? "\(s / 3600)h" : "\(s / 3600)h\(s % 3600 / 60)m" }
        if s >= 60 { return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s" }
        return "\(s)s"
    }
}
