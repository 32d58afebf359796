import Testing
@testable import BihashEval

@Test func moduleEvalBuilds() { #expect(Bool(true)) }
