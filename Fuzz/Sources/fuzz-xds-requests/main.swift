import CFuzzDriver
import Fuzzing

/// One input; libFuzzer calls it through the driver below.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  FuzzTargets.xdsRequests(size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}

/// The entry point SwiftPM links an executable to (`fuzz_xds_requests_main`, since the target is built
/// with -parse-as-library): libFuzzer's driver.
@_cdecl("fuzz_xds_requests_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  var count = argc
  var arguments = argv
  return LLVMFuzzerRunDriver(&count, &arguments, fuzzOne)
}
