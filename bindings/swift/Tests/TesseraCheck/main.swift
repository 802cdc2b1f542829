// The Swift binding, exercised end to end; mirrors
// bindings/kotlin/TesseraTest.kt test for test. `make swift-test` builds it
// with swiftc when swiftc is on PATH; in this package, `swift run
// TesseraCheck` does the same. Prints one line per test, then
// "N passed, M failed", and exits non-zero on any failure.

import Foundation
#if canImport(Tessera)
import Tessera
#endif

let secret = Data("tessera-bindings-test-secret-0123456789abcdef".utf8)

// Test-only Ed25519 keys (PKCS#8): Foundation on Linux cannot generate one.
let serverKeyPem = """
    -----BEGIN PRIVATE KEY-----
    MC4CAQAwBQYDK2VwBCIEIMwcv5COXTr+ylxQz0VRpCJiYIDjRVr7ArGH4FEUZOo/
    -----END PRIVATE KEY-----
    """
let otherKeyPem = """
    -----BEGIN PRIVATE KEY-----
    MC4CAQAwBQYDK2VwBCIEIGoQUGHQmmDE91ozjSVm8Nb6rm9YvDMgaCf/nz5DDAyz
    -----END PRIVATE KEY-----
    """

// HS256 tokens signed with `secret`, made once with a JWT library:
// iat in 2100 (not yet valid), and a simplejwt-shaped token valid until 2100.
let notYetValidToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTMzOTgwODAwLCJpYXQiOjQxMDI0NDQ4MDAsImp0aSI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwidXNlcl9pZCI6IjQyIn0.oowUwS2TrwbSCevQrppZwYRMMdcHLqgLD2zh-22hnmA"
let foreignToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6ImZlZGNiYTk4NzY1NDMyMTBmZWRjYmE5ODc2NTQzMjEwIiwidXNlcl9pZCI6IjQyIn0.zS-x1dZD0BB687VgNfNvyp6OA9b7u-zbDEGsTHWoX08"

func hs256(
    accessTtl: UInt64? = nil, refreshTtl: UInt64? = nil, reuseGrace: UInt64? = nil,
    sessionMaxLifetime: UInt64? = nil, maxSessions: UInt32? = nil
) -> EngineConfig {
    EngineConfig(
        algorithm: "HS256", secret: secret,
        accessTtlSeconds: accessTtl, refreshTtlSeconds: refreshTtl,
        reuseGraceSeconds: reuseGrace, sessionMaxLifetimeSeconds: sessionMaxLifetime,
        maxSessionsPerUser: maxSessions)
}

func eddsa(_ pem: String, issuer: String? = nil, audience: String? = nil) -> EngineConfig {
    EngineConfig(algorithm: "EdDSA", privateKeyPem: pem, issuer: issuer, audience: audience)
}

func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

func tempDir() throws -> URL {
    let dir = FileManager.default.temporaryDirectory
        .appendingPathComponent("tessera-swift-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

struct CheckFailure: Error, CustomStringConvertible {
    let description: String
}

func check(
    _ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String = "",
    line: UInt = #line
) throws {
    if try !condition() {
        throw CheckFailure(description: "line \(line): check failed \(message())")
    }
}

/// Runs `body` and checks it throws a `TesseraError` carrying `code`.
func expectError(_ code: String, line: UInt = #line, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as TesseraError {
        try check(e.code() == code, "expected \(code), got \(e)", line: line)
        return
    }
    throw CheckFailure(description: "line \(line): expected \(code), nothing was thrown")
}

func token(_ access: Access, line: UInt = #line) throws -> String {
    if case let .token(token) = access {
        return token
    }
    throw CheckFailure(description: "line \(line): expected a token, got \(access)")
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() {
        lock.lock()
        n += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return n
    }
}

final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) {
        lock.lock()
        items.append(item)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

/// Runs `body` on `n` threads released at once, and waits for all of them.
func onThreads(_ n: Int, _ body: @escaping () -> Void) {
    let gate = DispatchSemaphore(value: 0)
    let group = DispatchGroup()
    for _ in 0..<n {
        group.enter()
        Thread {
            gate.wait()
            body()
            group.leave()
        }.start()
    }
    for _ in 0..<n { gate.signal() }
    group.wait()
}

/// A Swift refresher that exchanges with `engine`, counting its calls.
final class EngineRefresher: Refresher, @unchecked Sendable {
    let engine: Engine
    let lingerSeconds: TimeInterval
    let calls = Counter()

    init(_ engine: Engine, lingerSeconds: TimeInterval = 0.2) {
        self.engine = engine
        self.lingerSeconds = lingerSeconds
    }

    func refresh(refreshToken: String) throws -> TokenPair {
        calls.increment()
        Thread.sleep(forTimeInterval: lingerSeconds)
        return try engine.refresh(refreshToken: refreshToken)
    }
}

/// A Swift refresher that always throws `error`.
final class FailingRefresher: Refresher, @unchecked Sendable {
    let error: Error
    let lingerSeconds: TimeInterval
    let calls = Counter()

    init(_ error: Error, lingerSeconds: TimeInterval = 0) {
        self.error = error
        self.lingerSeconds = lingerSeconds
    }

    func refresh(refreshToken: String) throws -> TokenPair {
        calls.increment()
        Thread.sleep(forTimeInterval: lingerSeconds)
        throw error
    }
}

struct NotTessera: Error {}

var tests: [(String, () throws -> Void)] = []

func test(_ name: String, _ body: @escaping () throws -> Void) {
    tests.append((name, body))
}

test("issue then verify access and refresh") {
    let engine = try Engine(path: nil, config: hs256())
    let pair = try engine.issue(userId: "42", extraClaimsJson: #"{"role":"admin","tenant":7}"#)
    try check((895...900).contains(pair.accessExpiresAt - now()))
    let claims = try engine.verifyAccess(token: pair.access)
    try check(claims.userId == "42" && claims.tokenType == .access && claims.jti.count == 32)
    try check(claims.exp == pair.accessExpiresAt && claims.iat != nil && claims.aud.isEmpty)
    try check(claims.extraJson == #"{"role":"admin","tenant":7}"#, claims.extraJson)
    let refresh = try engine.verifyRefresh(token: pair.refresh)
    try check(refresh.tokenType == .refresh && refresh.familyId == claims.familyId)
    try check(refresh.familyId != nil)
}

test("refresh rotates within the same session") {
    let engine = try Engine(path: nil, config: hs256())
    let first = try engine.issue(userId: "42", extraClaimsJson: #"{"role":"admin"}"#)
    let second = try engine.refresh(refreshToken: first.refresh)
    try check(second.refresh != first.refresh)
    let claims = try engine.verifyAccess(token: second.access)
    try check(claims.familyId == (try engine.verifyAccess(token: first.access)).familyId)
    try check(claims.extraJson == #"{"role":"admin"}"#)
}

test("refresh converges inside the window; a grandparent revokes the family") {
    let engine = try Engine(path: nil, config: hs256())
    let first = try engine.issue(userId: "42", extraClaimsJson: nil)
    let second = try engine.refresh(refreshToken: first.refresh)
    try check(try engine.refresh(refreshToken: first.refresh) == second)
    let third = try engine.refresh(refreshToken: second.refresh)
    try expectError("refresh_reused") { _ = try engine.refresh(refreshToken: first.refresh) }
    try expectError("token_revoked") { _ = try engine.refresh(refreshToken: third.refresh) }
    try expectError("token_revoked") { _ = try engine.verifyAccess(token: third.access) }
    try check(try engine.sessions(userId: "42").isEmpty)
}

test("refresh with claims, reauthenticate and authTime") {
    let engine = try Engine(path: nil, config: hs256())
    let first = try engine.issue(userId: "42", extraClaimsJson: #"{"role":"viewer"}"#)
    let authTime = try engine.verifyAccess(token: first.access).authTime
    try check(authTime != nil)
    let second = try engine.refresh(refreshToken: first.refresh, extraClaimsJson: #"{"role":"editor"}"#)
    let claims = try engine.verifyAccess(token: second.access)
    try check(claims.extraJson == #"{"role":"editor"}"# && claims.authTime == authTime)
    try check(try engine.refresh(refreshToken: first.refresh, extraClaimsJson: #"{"role":"owner"}"#) == second)
    let fresh = try engine.reauthenticate(accessToken: second.access, extraClaimsJson: nil)
    try check(try engine.verifyAccess(token: fresh.access).familyId == claims.familyId)
    try check(try engine.refresh(refreshToken: second.refresh) == fresh)
}

test("revokeUser keeping one session, revokeUserPats, session limit and end") {
    let engine = try Engine(path: nil, config: hs256(sessionMaxLifetime: 600, maxSessions: 2))
    let keep = try engine.issue(userId: "42", extraClaimsJson: nil)
    try check((595...600).contains(keep.refreshExpiresAt - now()))
    let other = try engine.issue(userId: "42", extraClaimsJson: nil)
    let third = try engine.issue(userId: "42", extraClaimsJson: nil)
    try check(try engine.sessions(userId: "42").count == 2)
    let sid = try engine.verifyAccess(token: third.access).familyId!
    try check(try engine.revokeUser(userId: "42", keepSession: sid) == 1)
    _ = try engine.verifyAccess(token: third.access)
    try expectError("token_revoked") { _ = try engine.verifyAccess(token: keep.access) }
    try expectError("token_revoked") { _ = try engine.verifyAccess(token: other.access) }
    let pat = try engine.createPat(userId: "42", name: "a", expiresAt: nil, scopes: [])
    try check(try engine.revokeUserPats(userId: "42") == 1)
    try expectError("pat_revoked") { _ = try engine.verifyPat(token: pat.token) }
}

test("attempt counters: the limit, Retry-After, clear") {
    let engine = try Engine(path: nil, config: hs256())
    var allowed: [Bool] = []
    for _ in 0..<4 {
        allowed.append(try engine.recordAttempt(key: "login:a|203.0.113.7", limit: 3, windowSeconds: 60).allowed)
    }
    try check(allowed == [true, true, true, false])
    let refused = try engine.recordAttempt(key: "login:a|203.0.113.7", limit: 3, windowSeconds: 60)
    try check(!refused.allowed && refused.retryAfter >= 1 && refused.retryAfter <= 60)
    try check(try engine.recordAttempt(key: "login:a|198.51.100.1", limit: 3, windowSeconds: 60).allowed)
    try engine.clearAttempts(key: "login:a|203.0.113.7")
    try check(try engine.recordAttempt(key: "login:a|203.0.113.7", limit: 3, windowSeconds: 60).count == 1)
    try expectError("config_invalid") { _ = try engine.recordAttempt(key: "", limit: 3, windowSeconds: 60) }
}

test("8 threads refreshing one token without a window: exactly one wins") {
    let engine = try Engine(path: nil, config: hs256(reuseGrace: 0))
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    let wins = Counter()
    let codes = Collected()
    onThreads(8) {
        do {
            _ = try engine.refresh(refreshToken: pair.refresh)
            wins.increment()
        } catch let e as TesseraError {
            codes.add(e.code())
        } catch {
            codes.add("unexpected: \(error)")
        }
    }
    try check(wins.value == 1, "winners: \(wins.value)")
    try check(codes.all.count == 7)
    try check(codes.all.allSatisfy { $0 == "refresh_reused" || $0 == "token_revoked" }, "\(codes.all)")
    try check(codes.all.contains("refresh_reused"))
    try check(try engine.sessions(userId: "42").isEmpty)
}

test("revoke logs one session out, idempotently") {
    let engine = try Engine(path: nil, config: hs256())
    let a = try engine.issue(userId: "42", extraClaimsJson: nil)
    let b = try engine.issue(userId: "42", extraClaimsJson: nil)
    try engine.revoke(refreshToken: a.refresh)
    try engine.revoke(refreshToken: a.refresh)
    try expectError("token_revoked") { _ = try engine.verifyAccess(token: a.access) }
    _ = try engine.verifyAccess(token: b.access)
}

test("revokeUser and sessions") {
    let engine = try Engine(path: nil, config: hs256())
    let a = try engine.issue(userId: "42", extraClaimsJson: nil)
    _ = try engine.issue(userId: "42", extraClaimsJson: nil)
    _ = try engine.issue(userId: "7", extraClaimsJson: nil)
    let sessions = try engine.sessions(userId: "42")
    try check(sessions.count == 2)
    try check(sessions[0].familyId == (try engine.verifyAccess(token: a.access)).familyId)
    try check(try engine.revokeUser(userId: "42") == 2)
    try check(try engine.sessions(userId: "42").isEmpty)
    try check(try engine.sessions(userId: "7").count == 1)
}

test("PAT lifecycle") {
    let engine = try Engine(path: nil, config: hs256())
    let created = try engine.createPat(
        userId: "42", name: "ci deploy", expiresAt: nil, scopes: ["repo:read", "repo:write"])
    try check(created.token.hasPrefix("tsr_pat_") && created.token.count == 8 + 49)
    try check(created.token.hasPrefix(created.prefix) && created.prefix.count == 12)
    let pat = try engine.verifyPat(token: created.token)
    try check(pat.id == created.id && pat.userId == "42" && pat.name == "ci deploy")
    try check(pat.scopes == ["repo:read", "repo:write"] && pat.lastUsedAt != nil)
    try check(try engine.listPats(userId: "42").map { $0.id } == [created.id])
    try check(!(try engine.revokePat(userId: "7", id: created.id)))
    try check(try engine.revokePat(userId: "42", id: created.id))
    try check(!(try engine.revokePat(userId: "42", id: created.id)))
    try expectError("pat_revoked") { _ = try engine.verifyPat(token: created.token) }
    try check(try engine.listPats(userId: "42").isEmpty)
    try expectError("pat_invalid") { _ = try engine.verifyPat(token: "tsr_pat_nope") }
    let at = now() + 3600
    let later = try engine.createPat(userId: "42", name: "later", expiresAt: at, scopes: [])
    try check(later.expiresAt == at && later.scopes.isEmpty)
}

test("PAT scopes: what they name, and unrestricted tokens everything") {
    let engine = try Engine(path: nil, config: hs256())
    let created = try engine.createPat(
        userId: "42", name: "ci", expiresAt: nil, scopes: ["repo:read", "repo:write"])
    let limited = try engine.verifyPat(token: created.token)
    try check(!limited.unrestricted)
    try check(patMissingScopes(pat: limited, required: ["repo:write"]).isEmpty)
    try check(
        patMissingScopes(pat: limited, required: ["admin", "repo:read", "billing"]) == ["admin", "billing"])
    let full = try engine.createPat(userId: "42", name: "full", expiresAt: nil, scopes: [unrestrictedScope()])
    try check(full.unrestricted && unrestrictedScope() == "tessera.unrestricted")
    let verified = try engine.verifyPat(token: full.token)
    try check(verified.unrestricted && patMissingScopes(pat: verified, required: ["admin"]).isEmpty)
}

test("expiry: token_expired, pat_expired and purgeExpired") {
    let engine = try Engine(path: nil, config: hs256(accessTtl: 1, refreshTtl: 1))
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    let pat = try engine.createPat(userId: "42", name: "short", expiresAt: now() + 1, scopes: [])
    Thread.sleep(forTimeInterval: 2.1)
    try expectError("token_expired") { _ = try engine.verifyAccess(token: pair.access) }
    try expectError("token_expired") { _ = try engine.refresh(refreshToken: pair.refresh) }
    try expectError("pat_expired") { _ = try engine.verifyPat(token: pat.token) }
    // The session (its family holds its tokens' state) and the expired PAT.
    try check(try engine.purgeExpired() == 2)
    try check(try engine.purgeExpired() == 0)
}

test("every error code, from its own case") {
    let engine = try Engine(path: nil, config: hs256())
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    try expectError("token_invalid") { _ = try engine.verifyAccess(token: "not.a.token") }
    try expectError("token_invalid") { _ = try engine.verifyAccess(token: pair.access + "x") }
    try expectError("token_wrong_type") { _ = try engine.verifyAccess(token: pair.refresh) }
    try expectError("token_wrong_type") { _ = try engine.refresh(refreshToken: pair.access) }
    try expectError("token_not_yet_valid") { _ = try engine.verifyAccess(token: notYetValidToken) }
    try check(try engine.verifyAccess(token: foreignToken).familyId == nil)
    try expectError("config_invalid") { _ = try engine.issue(userId: "42", extraClaimsJson: #"{"exp":1}"#) }
    try expectError("config_invalid") { _ = try engine.issue(userId: "42", extraClaimsJson: "[1]") }
    try expectError("config_invalid") { _ = try engine.issue(userId: "", extraClaimsJson: nil) }
    try expectError("config_invalid") {
        _ = try Engine(path: nil, config: EngineConfig(algorithm: "none", secret: secret))
    }
    try expectError("config_invalid") {
        _ = try Engine(path: nil, config: EngineConfig(algorithm: "HS256", secret: Data("short".utf8)))
    }
    try expectError("config_invalid") { _ = try Engine(path: nil, config: EngineConfig(algorithm: "HS256")) }
    try expectError("config_invalid") {
        _ = try Engine(path: nil, config: hs256(accessTtl: 3600, refreshTtl: 60))
    }
    do {
        _ = try engine.verifyAccess(token: pair.refresh)
        throw CheckFailure(description: "expected token_wrong_type")
    } catch TesseraError.TokenWrongType(let detail) {
        try check(!detail.isEmpty && !detail.contains(pair.refresh))
    }
}

test("every TesseraError case is one engine code of the catalog") {
    // One instance of each case; a case missing here, or a code the catalog
    // gained without a case, fails the comparison.
    let cases: [TesseraError] = [
        .TokenInvalid(detail: "d"), .TokenExpired(detail: "d"), .TokenNotYetValid(detail: "d"),
        .TokenWrongType(detail: "d"), .TokenRevoked(detail: "d"), .RefreshReused(detail: "d"),
        .PatInvalid(detail: "d"), .PatExpired(detail: "d"), .PatRevoked(detail: "d"),
        .Storage(detail: "d"), .RandomFailed(detail: "d"), .ConfigInvalid(detail: "d"),
    ]
    let catalog = errorCatalog()
    let engineCodes = catalog.filter { $0.fromEngine }.map { $0.code }
    try check(cases.map { $0.code() } == engineCodes)
    try check(Set(catalog.map { $0.code }).count == catalog.count)
}

test("shutdown: later calls are storage_error, the file reopens") {
    let path = try tempDir().appendingPathComponent("engine.redb").path
    let pair: TokenPair
    do {
        let engine = try Engine(path: path, config: hs256())
        pair = try engine.issue(userId: "42", extraClaimsJson: nil)
        try engine.shutdown()
        try expectError("storage_error") { _ = try engine.verifyAccess(token: pair.access) }
    }
    let engine = try Engine(path: path, config: hs256())
    try check(try engine.verifyAccess(token: pair.access).userId == "42")
    _ = try engine.refresh(refreshToken: pair.refresh)
}

test("Verifier built from engine.jwks()") {
    let engine = try Engine(path: nil, config: eddsa(serverKeyPem))
    let pair = try engine.issue(userId: "42", extraClaimsJson: #"{"role":"admin"}"#)
    let verifier = try Verifier.fromJwks(jwks: engine.jwks(), validation: Validation())
    let claims = try verifier.verifyAccess(token: pair.access)
    try check(claims.userId == "42" && claims.extraJson == #"{"role":"admin"}"#)
    try check(try verifier.verify(token: pair.refresh, expected: .refresh).tokenType == .refresh)
    try expectError("token_wrong_type") { _ = try verifier.verifyAccess(token: pair.refresh) }
    try check((890...900).contains(try verifier.secondsUntilExpiry(token: pair.access)))
    let parts = pair.access.split(separator: ".")
    let forged = "\(parts[0]).eyJ1c2VyX2lkIjoiMSJ9.\(parts[2])"
    try expectError("token_invalid") { _ = try verifier.secondsUntilExpiry(token: forged) }
    let other = try Engine(path: nil, config: eddsa(otherKeyPem))
    let theirs = try Verifier.fromJwks(jwks: other.jwks(), validation: Validation())
    try expectError("token_invalid") { _ = try theirs.verifyAccess(token: pair.access) }
    try expectError("config_invalid") { _ = try Verifier.fromJwks(jwks: "{}", validation: Validation()) }
}

test("Verifier checks issuer and audience") {
    let engine = try Engine(
        path: nil, config: eddsa(serverKeyPem, issuer: "https://id.example", audience: "app"))
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    let jwks = engine.jwks()
    let good = try Verifier.fromJwks(
        jwks: jwks, validation: Validation(issuer: "https://id.example", audience: "app"))
    let claims = try good.verifyAccess(token: pair.access)
    try check(claims.iss == "https://id.example" && claims.aud == ["app"])
    for rules in [
        Validation(issuer: "https://other.example", audience: "app"),
        Validation(issuer: "https://id.example", audience: "web"),
        Validation(),
    ] {
        let verifier = try Verifier.fromJwks(jwks: jwks, validation: rules)
        try expectError("token_invalid") { _ = try verifier.verifyAccess(token: pair.access) }
    }
}

test("TokenKeeper: 8 threads after expiry, one Swift refresher call") {
    let engine = try Engine(path: nil, config: hs256(accessTtl: 3))
    let keeper = try TokenKeeper(path: nil, marginSeconds: 1)
    let first = try engine.issue(userId: "42", extraClaimsJson: nil)
    try keeper.set(pair: first)
    let refresher = EngineRefresher(engine)
    try check(try token(keeper.accessToken(refresher: refresher)) == first.access)
    Thread.sleep(forTimeInterval: 3.1)
    try check(keeper.secondsUntilExpiry() == 0)
    let tokens = Collected()
    onThreads(8) {
        if let access = try? keeper.accessToken(refresher: refresher), case let .token(t) = access {
            tokens.add(t)
        }
    }
    try check(refresher.calls.value == 1, "refresher calls: \(refresher.calls.value)")
    try check(tokens.all.count == 8 && Set(tokens.all).count == 1)
    let fresh = tokens.all[0]
    try check(fresh != first.access)
    try check(try engine.verifyAccess(token: fresh).userId == "42")
    try check(try token(keeper.accessToken(refresher: refresher)) == fresh)
    try check(refresher.calls.value == 1)
}

test("TokenKeeper: a failing refresher fails every waiter once, pair kept") {
    let engine = try Engine(path: nil, config: hs256())
    let keeper = try TokenKeeper(path: nil, marginSeconds: 100_000)
    try keeper.set(pair: try engine.issue(userId: "42", extraClaimsJson: nil))
    let offline = FailingRefresher(TesseraError.Storage(detail: "network unreachable"))
    try expectError("storage_error") { _ = try keeper.accessToken(refresher: offline) }
    try check(offline.calls.value == 1 && keeper.isSignedIn())
    let crashing = FailingRefresher(NotTessera())
    try expectError("storage_error") { _ = try keeper.accessToken(refresher: crashing) }
    try check(keeper.isSignedIn())
    let slow = FailingRefresher(TesseraError.Storage(detail: "timeout"), lingerSeconds: 0.3)
    let codes = Collected()
    onThreads(8) {
        do {
            _ = try keeper.accessToken(refresher: slow)
        } catch let e as TesseraError {
            codes.add(e.code())
        } catch {
            codes.add("unexpected")
        }
    }
    try check(slow.calls.value == 1, "calls: \(slow.calls.value)")
    try check(codes.all.count == 8 && codes.all.allSatisfy { $0 == "storage_error" })
}

test("TokenKeeper: refresh_reused and token_revoked mean sign in again") {
    let engine = try Engine(path: nil, config: hs256(reuseGrace: 0))
    let keeper = try TokenKeeper(path: nil, marginSeconds: 100_000)
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    try keeper.set(pair: pair)
    _ = try engine.refresh(refreshToken: pair.refresh)
    let refresher = EngineRefresher(engine, lingerSeconds: 0)
    try check(try keeper.accessToken(refresher: refresher) == .signInRequired(reason: "refresh_reused"))
    try check(!keeper.isSignedIn() && keeper.refreshToken() == nil && keeper.secondsUntilExpiry() == nil)
    try check(try keeper.accessToken(refresher: refresher) == .signInRequired(reason: nil))
    try check(refresher.calls.value == 1)
    let next = try engine.issue(userId: "42", extraClaimsJson: nil)
    try keeper.set(pair: next)
    try engine.revoke(refreshToken: next.refresh)
    try check(try keeper.accessToken(refresher: refresher) == .signInRequired(reason: "token_revoked"))
}

test("TokenKeeper: clear signs out, persisted across reopen") {
    let engine = try Engine(path: nil, config: hs256())
    let path = try tempDir().appendingPathComponent("keeper.redb").path
    let pair = try engine.issue(userId: "42", extraClaimsJson: nil)
    do {
        let keeper = try TokenKeeper(path: path, marginSeconds: nil)
        try check(!keeper.isSignedIn())
        try keeper.set(pair: pair)
    }
    do {
        let keeper = try TokenKeeper(path: path, marginSeconds: nil)
        try check(keeper.refreshToken() == pair.refresh)
        try check(try token(keeper.accessToken(refresher: FailingRefresher(NotTessera()))) == pair.access)
        try keeper.clear()
    }
    let keeper = try TokenKeeper(path: path, marginSeconds: nil)
    try check(!keeper.isSignedIn())
    try expectError("token_invalid") {
        try keeper.set(pair: TokenPair(access: "a.b", refresh: "c.d", accessExpiresAt: 0, refreshExpiresAt: 0))
    }
}

test("error codes are the stable set") {
    let errors: [TesseraError] = [
        .TokenInvalid(detail: "d"), .TokenExpired(detail: "d"), .TokenNotYetValid(detail: "d"),
        .TokenWrongType(detail: "d"), .TokenRevoked(detail: "d"), .RefreshReused(detail: "d"),
        .PatInvalid(detail: "d"), .PatExpired(detail: "d"), .PatRevoked(detail: "d"),
        .Storage(detail: "d"), .ConfigInvalid(detail: "d"),
    ]
    try check(
        errors.map { $0.code() } == [
            "token_invalid", "token_expired", "token_not_yet_valid", "token_wrong_type",
            "token_revoked", "refresh_reused", "pat_invalid", "pat_expired", "pat_revoked",
            "storage_error", "config_invalid",
        ])
}

var passed = 0
var failed = 0
for (name, body) in tests {
    do {
        try body()
        passed += 1
        print("ok      \(name)")
    } catch {
        failed += 1
        print("FAILED  \(name): \(error)")
    }
}
print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
