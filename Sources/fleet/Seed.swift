import ArgumentParser

struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Fill the database with a realistic data set.")
    @OptionGroup var options: ConfigOptions
    func run() async throws {}
}
