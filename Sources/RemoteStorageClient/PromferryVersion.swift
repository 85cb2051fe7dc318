/// The toolkit's version, shown by `--version` and recorded in manifests.
public enum PromferryVersion {
    public static let current = "0.1.0"
}
