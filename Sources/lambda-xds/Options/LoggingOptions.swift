public import ArgumentParser
public import Logging

struct LoggingOptions: ParsableArguments {
  enum Format: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
  }

  @Option(help: "trace, debug, info, notice, warning, error or critical.")
  var logLevel: Logger.Level = .info

  @Option(help: "text (one readable line per event) or json (one JSON object per line).")
  var logFormat: Format = .text

  func makeLogger() -> Logger {
    let format = logFormat
    LoggingSystem.bootstrap { label in
      format == .json ? JSONLogHandler(label: label) as any LogHandler : StreamLogHandler.standardError(label: label)
    }
    var logger = Logger(label: "lambda-xds")
    logger.logLevel = logLevel
    return logger
  }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
