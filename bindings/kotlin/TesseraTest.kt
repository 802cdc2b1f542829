// The Kotlin binding, exercised end to end: every Engine, Verifier and
// TokenKeeper method, each error code, rotation under thread races, and the
// keeper's single-flight refresh with a Kotlin refresher.
//
// Run with assertions enabled (-ea) and JNA pointed at the built library
// (-Djna.library.path=...); `make kotlin-test` does both. Prints one line per
// test, then "N passed, M failed", and exits non-zero on any failure.

package tessera.bindings.test

import java.nio.file.Files
import java.nio.file.Path
import java.security.KeyPairGenerator
import java.util.Base64
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.atomic.AtomicInteger
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import kotlin.concurrent.thread
import kotlin.system.exitProcess
import uniffi.tessera.Access
import uniffi.tessera.Claims
import uniffi.tessera.Engine
import uniffi.tessera.EngineConfig
import uniffi.tessera.Refresher
import uniffi.tessera.TesseraException
import uniffi.tessera.TokenKeeper
import uniffi.tessera.TokenPair
import uniffi.tessera.TokenType
import uniffi.tessera.Validation
import uniffi.tessera.Verifier
import uniffi.tessera.errorCatalog
import uniffi.tessera.patMissingScopes
import uniffi.tessera.unrestrictedScope

private val SECRET = "tessera-bindings-test-secret-0123456789abcdef".toByteArray()

private fun hs256(
    accessTtl: ULong? = null,
    refreshTtl: ULong? = null,
    issuer: String? = null,
    audience: String? = null,
    reuseGrace: ULong? = null,
    sessionMaxLifetime: ULong? = null,
    maxSessions: UInt? = null,
) = EngineConfig(
    algorithm = "HS256",
    secret = SECRET,
    accessTtlSeconds = accessTtl,
    refreshTtlSeconds = refreshTtl,
    issuer = issuer,
    audience = audience,
    reuseGraceSeconds = reuseGrace,
    sessionMaxLifetimeSeconds = sessionMaxLifetime,
    maxSessionsPerUser = maxSessions,
)

private fun ed25519Pem(): String {
    val der = KeyPairGenerator.getInstance("Ed25519").generateKeyPair().private.encoded
    val body = Base64.getMimeEncoder(64, "\n".toByteArray()).encodeToString(der)
    return "-----BEGIN PRIVATE KEY-----\n$body\n-----END PRIVATE KEY-----\n"
}

private fun eddsa(issuer: String? = null, audience: String? = null) = EngineConfig(
    algorithm = "EdDSA",
    privateKeyPem = ed25519Pem(),
    issuer = issuer,
    audience = audience,
)

private fun now(): Long = System.currentTimeMillis() / 1000

private fun b64url(bytes: ByteArray): String = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes)

/** An HS256 token signed here, with whatever payload a test needs. */
private fun signHs256(payloadJson: String): String {
    val input = b64url("""{"alg":"HS256","typ":"JWT"}""".toByteArray()) + "." + b64url(payloadJson.toByteArray())
    val mac = Mac.getInstance("HmacSHA256")
    mac.init(SecretKeySpec(SECRET, "HmacSHA256"))
    return input + "." + b64url(mac.doFinal(input.toByteArray()))
}

private fun tempDir(): Path = Files.createTempDirectory("tessera-kt")

/** Runs [block] and checks it throws [T] carrying [code]. */
private inline fun <reified T : TesseraException> expectError(code: String, block: () -> Unit) {
    try {
        block()
    } catch (e: TesseraException) {
        assert(e is T) { "expected ${T::class.simpleName}, got $e" }
        assert(e.code() == code) { "expected code $code, got ${e.code()}" }
        return
    }
    throw AssertionError("expected ${T::class.simpleName} ($code), nothing was thrown")
}

private fun Access.token(): String = when (this) {
    is Access.Token -> token
    is Access.SignInRequired -> throw AssertionError("expected a token, got sign-in ($reason)")
}

/** A Kotlin refresher that exchanges with [engine], counting its calls. */
private class EngineRefresher(val engine: Engine, val lingerMs: Long = 200) : Refresher {
    val calls = AtomicInteger(0)

    override fun refresh(refreshToken: String): TokenPair {
        calls.incrementAndGet()
        Thread.sleep(lingerMs)
        return engine.refresh(refreshToken)
    }
}

/** A Kotlin refresher that always throws [error]. */
private class FailingRefresher(val error: Exception) : Refresher {
    val calls = AtomicInteger(0)

    override fun refresh(refreshToken: String): TokenPair {
        calls.incrementAndGet()
        throw error
    }
}

private val tests = linkedMapOf<String, () -> Unit>()

private fun test(name: String, body: () -> Unit) {
    tests[name] = body
}

private fun defineTests() {
    test("issue then verify access and refresh") {
        Engine(null, hs256()).use { engine ->
            val pair = engine.issue("42", """{"role":"admin","tenant":7}""")
            assert(pair.accessExpiresAt - now() in 895L..900L)
            assert(pair.refreshExpiresAt - now() in (14L * 86400 - 5)..(14L * 86400))
            val claims: Claims = engine.verifyAccess(pair.access)
            assert(claims.userId == "42")
            assert(claims.tokenType == TokenType.ACCESS)
            assert(claims.jti.length == 32)
            assert(claims.exp == pair.accessExpiresAt)
            assert(claims.iat != null && claims.nbf == null && claims.iss == null)
            assert(claims.aud.isEmpty())
            assert(claims.extraJson == """{"role":"admin","tenant":7}""") { claims.extraJson }
            val refresh = engine.verifyRefresh(pair.refresh)
            assert(refresh.tokenType == TokenType.REFRESH)
            assert(refresh.familyId != null && refresh.familyId == claims.familyId)
            assert(engine.issue("43").access != pair.access)
        }
    }

    test("refresh rotates within the same session") {
        Engine(null, hs256()).use { engine ->
            val first = engine.issue("42", """{"role":"admin"}""")
            val second = engine.refresh(first.refresh)
            assert(second.refresh != first.refresh)
            val claims = engine.verifyAccess(second.access)
            assert(claims.familyId == engine.verifyAccess(first.access).familyId)
            assert(claims.extraJson == """{"role":"admin"}""")
        }
    }

    test("refresh converges inside the window; a grandparent revokes the family") {
        Engine(null, hs256()).use { engine ->
            val first = engine.issue("42")
            val second = engine.refresh(first.refresh)
            assert(engine.refresh(first.refresh) == second)
            val third = engine.refresh(second.refresh)
            expectError<TesseraException.RefreshReused>("refresh_reused") { engine.refresh(first.refresh) }
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.refresh(third.refresh) }
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(third.access) }
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(first.access) }
            assert(engine.sessions("42").isEmpty())
        }
    }

    test("8 threads refreshing one token: all get the same pair") {
        Engine(null, hs256()).use { engine ->
            val pair = engine.issue("42")
            val barrier = CyclicBarrier(8)
            val pairs = java.util.concurrent.ConcurrentLinkedQueue<TokenPair>()
            val threads = (1..8).map {
                thread {
                    barrier.await()
                    pairs.add(engine.refresh(pair.refresh))
                }
            }
            threads.forEach { it.join() }
            assert(pairs.size == 8 && pairs.toSet().size == 1) { pairs.size.toString() }
            assert(engine.sessions("42").size == 1)
        }
    }

    test("8 threads refreshing one token without a window: exactly one wins") {
        Engine(null, hs256(reuseGrace = 0UL)).use { engine ->
            val pair = engine.issue("42")
            val barrier = CyclicBarrier(8)
            val wins = AtomicInteger(0)
            val codes = java.util.concurrent.ConcurrentLinkedQueue<String>()
            val threads = (1..8).map {
                thread {
                    barrier.await()
                    try {
                        engine.refresh(pair.refresh)
                        wins.incrementAndGet()
                    } catch (e: TesseraException) {
                        codes.add(e.code())
                    }
                }
            }
            threads.forEach { it.join() }
            assert(wins.get() == 1) { "winners: ${wins.get()}" }
            assert(codes.size == 7)
            assert(codes.all { it == "refresh_reused" || it == "token_revoked" }) { codes.toString() }
            assert("refresh_reused" in codes)
            // The replay revoked the family, the winner's new pair included.
            assert(engine.sessions("42").isEmpty())
        }
    }

    test("revoke logs one session out, idempotently") {
        Engine(null, hs256()).use { engine ->
            val a = engine.issue("42")
            val b = engine.issue("42")
            engine.revoke(a.refresh)
            engine.revoke(a.refresh)
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(a.access) }
            engine.verifyAccess(b.access)
        }
    }

    test("revokeUser and sessions") {
        Engine(null, hs256()).use { engine ->
            val a = engine.issue("42")
            engine.issue("42")
            engine.issue("7")
            val sessions = engine.sessions("42")
            assert(sessions.size == 2)
            // Both began in the same second, so their order is by family id.
            assert(sessions.any { it.familyId == engine.verifyAccess(a.access).familyId })
            assert(sessions.all { it.createdAt <= it.lastRefreshedAt && it.expiresAt > now() })
            assert(engine.revokeUser("42") == 2UL)
            assert(engine.sessions("42").isEmpty())
            assert(engine.sessions("7").size == 1)
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(a.access) }
        }
    }

    test("refresh with claims, reauthenticate and authTime") {
        Engine(null, hs256()).use { engine ->
            val first = engine.issue("42", """{"role":"viewer"}""")
            val authTime = engine.verifyAccess(first.access).authTime
            assert(authTime != null)
            val second = engine.refresh(first.refresh, """{"role":"editor"}""")
            val claims = engine.verifyAccess(second.access)
            assert(claims.extraJson == """{"role":"editor"}""" && claims.authTime == authTime)
            // Inside the window the first pair is returned, whatever the claims.
            assert(engine.refresh(first.refresh, """{"role":"owner"}""") == second)
            val fresh = engine.reauthenticate(second.access)
            assert(engine.verifyAccess(fresh.access).familyId == claims.familyId)
            assert(engine.refresh(second.refresh) == fresh)
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                engine.refresh(fresh.refresh, """{"auth_time":1}""")
            }
        }
    }

    test("revokeUser keeping one session, revokeUserPats, session limit and end") {
        Engine(null, hs256(maxSessions = 2U, sessionMaxLifetime = 600UL)).use { engine ->
            val keep = engine.issue("42")
            assert(keep.refreshExpiresAt - now() in 595L..600L)
            val other = engine.issue("42")
            val third = engine.issue("42")
            assert(engine.sessions("42").size == 2)
            val sid = engine.verifyAccess(third.access).familyId!!
            assert(engine.revokeUser("42", sid) == 1UL)
            engine.verifyAccess(third.access)
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(keep.access) }
            expectError<TesseraException.TokenRevoked>("token_revoked") { engine.verifyAccess(other.access) }
            val pat = engine.createPat("42", "a")
            engine.createPat("42", "b")
            assert(engine.revokeUserPats("42") == 2UL)
            expectError<TesseraException.PatRevoked>("pat_revoked") { engine.verifyPat(pat.token) }
        }
    }

    test("PAT lifecycle") {
        Engine(null, hs256()).use { engine ->
            val created = engine.createPat("42", "ci deploy", null, listOf("repo:read", "repo:write"))
            assert(created.token.startsWith("tsr_pat_") && created.token.length == 8 + 49)
            assert(created.prefix == created.token.substring(0, 12))
            assert(created.expiresAt == null)
            val pat = engine.verifyPat(created.token)
            assert(pat.id == created.id && pat.userId == "42" && pat.name == "ci deploy")
            assert(pat.scopes == listOf("repo:read", "repo:write"))
            assert(pat.lastUsedAt != null)
            val listed = engine.listPats("42")
            assert(listed.map { it.id } == listOf(created.id))
            assert(!listed[0].toString().contains(created.token))
            assert(!engine.revokePat("7", created.id)) { "another user's token" }
            assert(engine.revokePat("42", created.id))
            assert(!engine.revokePat("42", created.id))
            expectError<TesseraException.PatRevoked>("pat_revoked") { engine.verifyPat(created.token) }
            assert(engine.listPats("42").isEmpty())
            expectError<TesseraException.PatInvalid>("pat_invalid") { engine.verifyPat("tsr_pat_nope") }
            val flipped = created.token.dropLast(1) + (if (created.token.last() == 'a') "b" else "a")
            expectError<TesseraException.PatInvalid>("pat_invalid") { engine.verifyPat(flipped) }
            val at = now() + 3600
            val other = engine.createPat("42", "later", at)
            assert(other.scopes.isEmpty() && other.expiresAt == at)
        }
    }

    test("PAT scopes: what they name, and unrestricted tokens everything") {
        Engine(null, hs256()).use { engine ->
            val limited = engine.verifyPat(engine.createPat("42", "ci", null, listOf("repo:read", "repo:write")).token)
            assert(!limited.unrestricted)
            assert(patMissingScopes(limited, listOf("repo:write")).isEmpty())
            assert(patMissingScopes(limited, listOf("admin", "repo:read", "billing")) == listOf("admin", "billing"))
            val created = engine.createPat("42", "full", null, listOf(unrestrictedScope()))
            assert(created.unrestricted && unrestrictedScope() == "tessera.unrestricted")
            val full = engine.verifyPat(created.token)
            assert(full.unrestricted)
            assert(patMissingScopes(full, listOf("admin")).isEmpty())
        }
    }

    test("expiry: token_expired, pat_expired and purgeExpired") {
        Engine(null, hs256(accessTtl = 1UL, refreshTtl = 1UL)).use { engine ->
            val pair = engine.issue("42")
            val pat = engine.createPat("42", "short", now() + 1)
            Thread.sleep(2100)
            expectError<TesseraException.TokenExpired>("token_expired") { engine.verifyAccess(pair.access) }
            expectError<TesseraException.TokenExpired>("token_expired") { engine.refresh(pair.refresh) }
            expectError<TesseraException.PatExpired>("pat_expired") { engine.verifyPat(pat.token) }
            // The session (its family holds its tokens' state) and the
            // expired PAT.
            assert(engine.purgeExpired() == 2UL)
            assert(engine.purgeExpired() == 0UL)
        }
    }

    test("attempt counters: the limit, Retry-After, clear") {
        Engine(null, hs256()).use { engine ->
            val results = (1..4).map { engine.recordAttempt("login:a|203.0.113.7", 3U, 60UL) }
            assert(results.map { it.allowed } == listOf(true, true, true, false))
            assert(results[3].count == 3U && results[3].remaining == 0U)
            assert(results[3].retryAfter in 1UL..60UL)
            assert(engine.recordAttempt("login:a|198.51.100.1", 3U, 60UL).allowed)
            engine.clearAttempts("login:a|203.0.113.7")
            assert(engine.recordAttempt("login:a|203.0.113.7", 3U, 60UL).count == 1U)
            expectError<TesseraException.ConfigInvalid>("config_invalid") { engine.recordAttempt("", 3U, 60UL) }
        }
    }

    test("every error code, from its own case") {
        Engine(null, hs256()).use { engine ->
            val pair = engine.issue("42")
            expectError<TesseraException.TokenInvalid>("token_invalid") { engine.verifyAccess("not.a.token") }
            expectError<TesseraException.TokenInvalid>("token_invalid") { engine.verifyAccess(pair.access + "x") }
            expectError<TesseraException.TokenWrongType>("token_wrong_type") { engine.verifyAccess(pair.refresh) }
            expectError<TesseraException.TokenWrongType>("token_wrong_type") { engine.refresh(pair.access) }
            val t = now()
            val early = signHs256(
                """{"token_type":"access","exp":${t + 7200},"iat":${t + 3600},""" +
                    """"jti":"0123456789abcdef0123456789abcdef","user_id":"42"}""",
            )
            expectError<TesseraException.TokenNotYetValid>("token_not_yet_valid") { engine.verifyAccess(early) }
            val foreign = signHs256(
                """{"token_type":"access","exp":${t + 300},"iat":$t,""" +
                    """"jti":"fedcba9876543210fedcba9876543210","user_id":"42"}""",
            )
            assert(engine.verifyAccess(foreign).familyId == null) { "a simplejwt-shaped token verifies" }
            expectError<TesseraException.ConfigInvalid>("config_invalid") { engine.issue("42", """{"exp":1}""") }
            expectError<TesseraException.ConfigInvalid>("config_invalid") { engine.issue("42", "[1]") }
            expectError<TesseraException.ConfigInvalid>("config_invalid") { engine.issue("") }
            expectError<TesseraException.ConfigInvalid>("config_invalid") { engine.createPat("42", "") }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine(null, EngineConfig(algorithm = "none", secret = SECRET))
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine(null, EngineConfig(algorithm = "HS256", secret = "short".toByteArray()))
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine(null, EngineConfig(algorithm = "HS256"))
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine(null, EngineConfig(algorithm = "EdDSA", secret = SECRET))
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine(null, hs256(accessTtl = 3600UL, refreshTtl = 60UL))
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") {
                Engine("/nonexistent-folder/x.redb", hs256())
            }
            // The exception's text names the detail, never a token.
            val wrongType = runCatching { engine.verifyAccess(pair.refresh) }.exceptionOrNull()
            assert(wrongType is TesseraException.TokenWrongType) { "$wrongType" }
            val detail = (wrongType as TesseraException.TokenWrongType).detail
            assert(detail.isNotEmpty() && wrongType.message == "detail=$detail")
            assert(!detail.contains(pair.refresh))
        }
    }

    test("every TesseraException case is one engine code of the catalog") {
        // One instance of each case; a case missing here, or a code the
        // catalog gained without a case, fails the comparison.
        val cases = listOf<TesseraException>(
            TesseraException.TokenInvalid("d"),
            TesseraException.TokenExpired("d"),
            TesseraException.TokenNotYetValid("d"),
            TesseraException.TokenWrongType("d"),
            TesseraException.TokenRevoked("d"),
            TesseraException.RefreshReused("d"),
            TesseraException.PatInvalid("d"),
            TesseraException.PatExpired("d"),
            TesseraException.PatRevoked("d"),
            TesseraException.Storage("d"),
            TesseraException.RandomFailed("d"),
            TesseraException.ConfigInvalid("d"),
        )
        val catalog = errorCatalog()
        val engineCodes = catalog.filter { it.fromEngine }.map { it.code }
        assert(cases.map { it.code() } == engineCodes) { "${cases.map { it.code() }} != $engineCodes" }
        assert(catalog.map { it.code }.toSet().size == catalog.size)
        assert(catalog.first { it.code == "storage_error" }.httpStatus.toInt() == 503)
    }

    test("shutdown: later calls are storage_error, the file reopens") {
        val path = tempDir().resolve("engine.redb").toString()
        val pair: TokenPair
        Engine(path, hs256()).use { engine ->
            pair = engine.issue("42")
            engine.shutdown()
            expectError<TesseraException.Storage>("storage_error") { engine.verifyAccess(pair.access) }
            expectError<TesseraException.Storage>("storage_error") { engine.issue("42") }
        }
        Engine(path, hs256()).use { engine ->
            assert(engine.verifyAccess(pair.access).userId == "42")
            assert(engine.sessions("42").size == 1)
            val second = engine.refresh(pair.refresh)
            engine.verifyAccess(second.access)
        }
    }

    test("Verifier built from engine.jwks()") {
        Engine(null, eddsa()).use { engine ->
            val pair = engine.issue("42", """{"role":"admin"}""")
            val jwks = engine.jwks()
            assert(jwks.contains("\"OKP\"") && jwks.contains("\"EdDSA\"")) { jwks }
            Verifier.fromJwks(jwks, Validation()).use { verifier ->
                val claims = verifier.verifyAccess(pair.access)
                assert(claims.userId == "42" && claims.extraJson == """{"role":"admin"}""")
                assert(verifier.verify(pair.refresh, TokenType.REFRESH).tokenType == TokenType.REFRESH)
                expectError<TesseraException.TokenWrongType>("token_wrong_type") { verifier.verifyAccess(pair.refresh) }
                val left = verifier.secondsUntilExpiry(pair.access)
                assert(left in 890L..900L) { "secondsUntilExpiry $left" }
                // Tampered payload: the signature no longer matches.
                val parts = pair.access.split('.')
                val forged = parts[0] + "." + b64url("""{"user_id":"1"}""".toByteArray()) + "." + parts[2]
                expectError<TesseraException.TokenInvalid>("token_invalid") { verifier.secondsUntilExpiry(forged) }
            }
            // Another server's keys.
            Engine(null, eddsa()).use { other ->
                Verifier.fromJwks(other.jwks(), Validation()).use { verifier ->
                    expectError<TesseraException.TokenInvalid>("token_invalid") { verifier.verifyAccess(pair.access) }
                }
            }
            expectError<TesseraException.ConfigInvalid>("config_invalid") { Verifier.fromJwks("{}", Validation()) }
        }
    }

    test("Verifier checks issuer and audience") {
        Engine(null, eddsa(issuer = "https://id.example", audience = "app")).use { engine ->
            val pair = engine.issue("42")
            val jwks = engine.jwks()
            Verifier.fromJwks(jwks, Validation(issuer = "https://id.example", audience = "app")).use {
                val claims = it.verifyAccess(pair.access)
                assert(claims.iss == "https://id.example" && claims.aud == listOf("app"))
            }
            for (rules in listOf(
                Validation(issuer = "https://other.example", audience = "app"),
                Validation(issuer = "https://id.example", audience = "web"),
                Validation(),
            )) {
                Verifier.fromJwks(jwks, rules).use { verifier ->
                    expectError<TesseraException.TokenInvalid>("token_invalid") { verifier.verifyAccess(pair.access) }
                }
            }
        }
    }

    test("TokenKeeper: 8 threads after expiry, one Kotlin refresher call") {
        Engine(null, hs256(accessTtl = 3UL)).use { engine ->
            TokenKeeper(null, 1UL).use { keeper ->
                val first = engine.issue("42")
                keeper.set(first)
                assert(keeper.isSignedIn())
                val refresher = EngineRefresher(engine)
                assert(keeper.accessToken(refresher).token() == first.access)
                assert(refresher.calls.get() == 0)
                Thread.sleep(3100)
                assert(keeper.secondsUntilExpiry() == 0L)
                val barrier = CyclicBarrier(8)
                val tokens = java.util.concurrent.ConcurrentLinkedQueue<String>()
                val threads = (1..8).map {
                    thread {
                        barrier.await()
                        tokens.add(keeper.accessToken(refresher).token())
                    }
                }
                threads.forEach { it.join() }
                assert(refresher.calls.get() == 1) { "refresher calls: ${refresher.calls.get()}" }
                assert(tokens.size == 8 && tokens.toSet().size == 1)
                val fresh = tokens.first()
                assert(fresh != first.access)
                assert(engine.verifyAccess(fresh).userId == "42")
                // Fresh for longer than the margin: served without a call.
                assert(keeper.accessToken(refresher).token() == fresh)
                assert(refresher.calls.get() == 1)
                assert(keeper.refreshToken() != first.refresh)
            }
        }
    }

    test("TokenKeeper: a failing refresher fails every waiter once, pair kept") {
        Engine(null, hs256()).use { engine ->
            // A margin longer than the token's life: every call refreshes.
            TokenKeeper(null, 100_000UL).use { keeper ->
                keeper.set(engine.issue("42"))
                val offline = FailingRefresher(TesseraException.Storage("network unreachable"))
                expectError<TesseraException.Storage>("storage_error") { keeper.accessToken(offline) }
                assert(offline.calls.get() == 1)
                assert(keeper.isSignedIn())
                val crashing = FailingRefresher(IllegalStateException("boom"))
                expectError<TesseraException.Storage>("storage_error") { keeper.accessToken(crashing) }
                assert(keeper.isSignedIn())
                val slow = object : Refresher {
                    val calls = AtomicInteger(0)
                    override fun refresh(refreshToken: String): TokenPair {
                        calls.incrementAndGet()
                        Thread.sleep(300)
                        throw TesseraException.Storage("timeout")
                    }
                }
                val barrier = CyclicBarrier(8)
                val codes = java.util.concurrent.ConcurrentLinkedQueue<String>()
                val threads = (1..8).map {
                    thread {
                        barrier.await()
                        try {
                            keeper.accessToken(slow)
                        } catch (e: TesseraException) {
                            codes.add(e.code())
                        }
                    }
                }
                threads.forEach { it.join() }
                assert(slow.calls.get() == 1) { "calls: ${slow.calls.get()}" }
                assert(codes.size == 8 && codes.all { it == "storage_error" })
            }
        }
    }

    test("TokenKeeper: refresh_reused and token_revoked mean sign in again") {
        Engine(null, hs256(reuseGrace = 0UL)).use { engine ->
            TokenKeeper(null, 100_000UL).use { keeper ->
                val pair = engine.issue("42")
                keeper.set(pair)
                engine.refresh(pair.refresh)
                val refresher = EngineRefresher(engine, lingerMs = 0)
                val access = keeper.accessToken(refresher)
                assert(access == Access.SignInRequired("refresh_reused")) { access.toString() }
                assert(!keeper.isSignedIn() && keeper.refreshToken() == null && keeper.secondsUntilExpiry() == null)
                assert(keeper.accessToken(refresher) == Access.SignInRequired(null))
                assert(refresher.calls.get() == 1)

                val next = engine.issue("42")
                keeper.set(next)
                engine.revoke(next.refresh)
                assert(keeper.accessToken(refresher) == Access.SignInRequired("token_revoked"))
            }
        }
    }

    test("TokenKeeper: clear signs out, persisted across reopen") {
        Engine(null, hs256()).use { engine ->
            val path = tempDir().resolve("keeper.redb").toString()
            val pair = engine.issue("42")
            TokenKeeper(path).use { keeper ->
                assert(!keeper.isSignedIn())
                keeper.set(pair)
                assert(keeper.secondsUntilExpiry()!! in 895L..900L)
            }
            TokenKeeper(path).use { keeper ->
                assert(keeper.refreshToken() == pair.refresh)
                assert(keeper.accessToken(FailingRefresher(IllegalStateException("unused"))).token() == pair.access)
                keeper.clear()
                assert(keeper.accessToken(EngineRefresher(engine)) == Access.SignInRequired(null))
            }
            TokenKeeper(path).use { keeper -> assert(!keeper.isSignedIn()) }
            TokenKeeper().use { keeper ->
                expectError<TesseraException.TokenInvalid>("token_invalid") { keeper.set(TokenPair("a.b", "c.d")) }
            }
        }
    }

    test("error codes are the stable set") {
        val codes = listOf(
            TesseraException.TokenInvalid("d"),
            TesseraException.TokenExpired("d"),
            TesseraException.TokenNotYetValid("d"),
            TesseraException.TokenWrongType("d"),
            TesseraException.TokenRevoked("d"),
            TesseraException.RefreshReused("d"),
            TesseraException.PatInvalid("d"),
            TesseraException.PatExpired("d"),
            TesseraException.PatRevoked("d"),
            TesseraException.Storage("d"),
            TesseraException.ConfigInvalid("d"),
        ).map { it.code() }
        assert(
            codes == listOf(
                "token_invalid", "token_expired", "token_not_yet_valid", "token_wrong_type",
                "token_revoked", "refresh_reused", "pat_invalid", "pat_expired", "pat_revoked",
                "storage_error", "config_invalid",
            ),
        ) { codes.toString() }
    }
}

fun main() {
    val assertionsOn = try {
        assert(false)
        false
    } catch (e: AssertionError) {
        true
    }
    if (!assertionsOn) {
        System.err.println("run with assertions enabled: java -ea ...")
        exitProcess(2)
    }
    defineTests()
    var passed = 0
    var failed = 0
    for ((name, body) in tests) {
        try {
            body()
            passed++
            println("ok      $name")
        } catch (t: Throwable) {
            failed++
            println("FAILED  $name: $t")
            t.printStackTrace(System.out)
        }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
