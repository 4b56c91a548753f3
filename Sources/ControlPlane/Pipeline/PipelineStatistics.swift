/// Counters of the translation loop (admin API `/v1/pipeline`): how many catalogs came in, how
/// many translations they cost (fewer when a burst coalesced), and what the last one took.
public struct PipelineStatistics: Sendable, Codable, Equatable {
  /// Catalog snapshots submitted.
  public var updatesReceived = 0
  /// Translations run (renewals of dev CA leaves included).
  public var translations = 0
  public var debounceMilliseconds = 0.0
  public var lastTranslationMilliseconds = 0.0
  public var maxTranslationMilliseconds = 0.0
  public var totalTranslationSeconds = 0.0
  /// Proxies the last translation looked at, and how many of their snapshots changed.
  public var lastProxiesTranslated = 0
  public var lastProxiesChanged = 0
  /// A translation is running now (readers are answered from the last one meanwhile).
  public var translating = false

  public init() {}

  mutating func recordTranslation(_ elapsed: Duration, translated: Int, changed: Int) {
    translations += 1
    lastTranslationMilliseconds = elapsed.milliseconds
    maxTranslationMilliseconds = max(maxTranslationMilliseconds, lastTranslationMilliseconds)
    totalTranslationSeconds += lastTranslationMilliseconds / 1000
    lastProxiesTranslated = translated
    lastProxiesChanged = changed
  }
}
