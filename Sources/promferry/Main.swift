import Commands

/// The one binary; what it runs depends on the name it was started under (`Promferry.main(invokedAs:)`).
@main
enum Main {
    static func main() async {
        await Promferry.main(invokedAs: CommandLine.arguments.first ?? "promferry")
    }
}
