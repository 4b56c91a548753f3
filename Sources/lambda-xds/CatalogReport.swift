import ConsulCatalog
import Logging

/// Logs what a catalog holds and every Lambda declaration problem, one line each.
enum CatalogReport {
  static func log(_ catalog: CatalogSnapshot, logger: Logger) {
    let invalid = catalog.lambdas.values.filter { !$0.isValid }
    logger.info(
      "catalog updated",
      metadata: [
        "datacenter": "\(catalog.datacenter)", "instances": "\(catalog.instances.count)",
        "proxies": "\(catalog.proxies.count)", "lambdas": "\(catalog.lambdas.count)",
        "invalid_lambdas": "\(invalid.count)",
      ])
    for lambda in catalog.lambdas.values.sorted(by: { $0.service < $1.service }) {
      if let reason = lambda.invalidReason {
        logger.error("Lambda service disabled", metadata: ["service": "\(lambda.service)", "reason": "\(reason)"])
      }
      for warning in lambda.warnings {
        logger.warning("Lambda declaration", metadata: ["service": "\(lambda.service)", "warning": "\(warning)"])
      }
    }
    for rejected in catalog.rejectedObjects {
      logger.error("catalog object ignored", metadata: ["reason": "\(rejected)"])
    }
  }
}
