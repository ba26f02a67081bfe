// HS256 tokens. The rejection cases follow PyJWT's test list
// (tests/test_api_jwt.py and tests/test_api_jws.py: algorithm none and case
// variants, wrong algorithm, missing and extra segments, bad padding and
// base64, non-object header and payload, exp/nbf/iat not numbers, expired and
// not yet valid with and without leeway, issuer and audience present, missing
// or wrong, tampered payload and signature, wrong key) plus size limits, and
// RFC 7515's HS256 example as an interoperability vector. Every rejection is
// asserted by its message.

#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "model/clock.hpp"

namespace ymy::auth {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kStartMillis = 1'700'000'000'000;  // ManualClock's default epoch at zero
constexpr std::int64_t kNow = kStartMillis / 1000;

std::vector<unsigned char> bytes(std::string_view s) { return {s.begin(), s.end()}; }

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : codec_(make(bytes("0123456789abcdef0123456789abcdef"), {})) {}

  std::unique_ptr<JwtCodec> make(const std::vector<unsigned char>& key, JwtOptions options) {
    auto c = JwtCodec::create(key, std::move(options), clock_);
    EXPECT_TRUE(c) << c.error().message;
    return std::move(*c);
  }

  // A payload that passes every claim check; tests change one thing.
  static boost::json::object valid() {
    return {{"iss", "youmeyou"}, {"aud", "youmeyou-api"}, {"sub", "usr_1"},   {"tier", "premium"},
            {"iat", kNow},       {"nbf", kNow},           {"exp", kNow + 600}};
  }

  // The reason a token is refused ("" when it is accepted).
  std::string reason(std::string_view token) const {
    auto r = codec_->verify(token);
    if (r) return "";
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    EXPECT_TRUE(r.error().message.starts_with("invalid token: ")) << r.error().message;
    return r.error().message.substr(std::string_view("invalid token: ").size());
  }
  std::string reasonFor(const boost::json::object& payload) const { return reason(codec_->signPayload(payload)); }

  ManualClock clock_;
  std::unique_ptr<JwtCodec> codec_;
};

// --- accepted -------------------------------------------------------------

TEST_F(JwtTest, IssuedTokenVerifiesWithItsClaims) {
  const auto token = codec_->issue("usr_42", "enterprise");
  auto claims = codec_->verify(token);
  ASSERT_TRUE(claims) << claims.error().message;
  EXPECT_EQ(claims->subject, "usr_42");
  EXPECT_EQ(claims->tier, "enterprise");
  EXPECT_EQ(claims->issuedAt, kNow);
  EXPECT_EQ(claims->expiresAt, kNow + 3600);
  EXPECT_EQ(claims->raw.at("iss").as_string(), "youmeyou");
  EXPECT_EQ(claims->raw.at("aud").as_string(), "youmeyou-api");
}

// RFC 7515 appendix A.1: the HS256 example, verified with the RFC's key.
TEST_F(JwtTest, DecodesTheRfc7515Example) {
  auto key = base64UrlDecode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  ASSERT_TRUE(key);
  ManualClock before(1'300'819'000'000);  // the example's exp is 1300819380
  auto codec = JwtCodec::create(bytes(*key), {.issuer = "joe", .audience = ""}, before);
  ASSERT_TRUE(codec);
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  // No "sub" in the example: everything up to the subject holds.
  auto r = (*codec)->verify(token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid token: missing 'sub'");
  // And one flipped signature byte is a bad signature, not a missing subject.
  std::string tampered = token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'X' ? 'Y' : 'X';
  EXPECT_EQ((*codec)->verify(tampered).error().message, "invalid token: bad signature");
}

TEST_F(JwtTest, AudienceMayBeAnArrayContainingOurs) {
  auto p = valid();
  p["aud"] = boost::json::array{"urn:someone-else", "youmeyou-api"};
  EXPECT_EQ(reasonFor(p), "");
}

TEST_F(JwtTest, NumericDatesMayHaveFractions) {
  auto p = valid();
  p["exp"] = static_cast<double>(kNow) + 60.5;
  p["iat"] = static_cast<double>(kNow) - 0.25;
  EXPECT_EQ(reasonFor(p), "");
}

TEST_F(JwtTest, ATokenJustUnderTheSizeLimitIsAccepted) {
  auto p = valid();
  p["pad"] = std::string(5000, 'x');  // base64 grows it by a third: about 7 KB
  const auto token = codec_->signPayload(p);
  ASSERT_LE(token.size(), 8192u);
  EXPECT_EQ(reason(token), "");
}

// --- algorithm --------------------------------------------------------------

TEST_F(JwtTest, AlgorithmNoneIsRefusedWithOrWithoutASignature) {
  const auto payload = base64UrlEncode(boost::json::serialize(valid()));
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const auto header = base64UrlEncode(std::string(R"({"alg":")") + alg + R"(","typ":"JWT"})");
    EXPECT_EQ(reason(header + "." + payload + "."), std::string("algorithm '") + alg + "' is not allowed (only HS256)");
    // Signed with our key all the same: still refused.
    EXPECT_EQ(reason(codec_->signSegments(header, payload)),
              std::string("algorithm '") + alg + "' is not allowed (only HS256)");
  }
}

TEST_F(JwtTest, OtherAlgorithmsAndCaseVariantsAreRefused) {
  for (const char* alg : {"hs256", "Hs256", "HS384", "HS512", "RS256", "ES256", "HS256 ", ""}) {
    const auto token = codec_->signRaw(std::string(R"({"alg":")") + alg + R"("})", boost::json::serialize(valid()));
    EXPECT_EQ(reason(token), std::string("algorithm '") + alg + "' is not allowed (only HS256)") << alg;
  }
}

TEST_F(JwtTest, AMissingOrNonStringAlgIsRefused) {
  const auto payload = boost::json::serialize(valid());
  EXPECT_EQ(reason(codec_->signRaw(R"({"typ":"JWT"})", payload)), "header has no 'alg'");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":null})", payload)), "header 'alg' is not a string");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":["HS256"]})", payload)), "header 'alg' is not a string");
}

TEST_F(JwtTest, TypOtherThanJwtAndCritAreRefused) {
  const auto payload = boost::json::serialize(valid());
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":"HS256","typ":"JWE"})", payload)), "header 'typ' is not JWT");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":"HS256","crit":["exp"],"exp":1})", payload)),
            "header 'crit' names extensions this server does not understand");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":"HS256"})", payload)), "");  // typ is optional
}

// --- shape and encoding -----------------------------------------------------

TEST_F(JwtTest, WrongNumberOfSegmentsIsRefused) {
  const auto token = codec_->issue("usr_1", "free");
  const auto lastDot = token.rfind('.');
  EXPECT_EQ(reason(""), "expected 3 segments separated by '.'");
  EXPECT_EQ(reason("abc"), "expected 3 segments separated by '.'");
  EXPECT_EQ(reason(token.substr(0, lastDot)), "expected 3 segments separated by '.'");  // two segments
  EXPECT_EQ(reason(token + ".extra"), "expected 3 segments separated by '.'");          // four
  EXPECT_EQ(reason(".."), "header segment is empty");
  EXPECT_EQ(reason(token.substr(0, lastDot + 1)), "signature segment is empty");
  const auto firstDot = token.find('.');
  EXPECT_EQ(reason(token.substr(0, firstDot + 1) + token.substr(lastDot)), "payload segment is empty");
}

TEST_F(JwtTest, BadBase64InAnySegmentIsRefused) {
  const auto token = codec_->issue("usr_1", "free");
  const auto firstDot = token.find('.');
  const auto lastDot = token.rfind('.');
  const auto header = token.substr(0, firstDot);
  const auto payload = token.substr(firstDot + 1, lastDot - firstDot - 1);
  // Standard base64's '+' and '/', padding, and characters outside the alphabet.
  EXPECT_EQ(reason("eyJhbGciOiJIUzI1NiJ9=." + payload + ".AAAA"), "header is not base64url");
  EXPECT_EQ(reason("eyJ+bGciOiJIUzI1NiJ9." + payload + ".AAAA"), "header is not base64url");
  EXPECT_EQ(reason(header + "." + payload + ".a*b"), "signature is not base64url");
  EXPECT_EQ(reason(codec_->signSegments(header, "eyJzdWIiOiJ4In0=")), "payload is not base64url");
  EXPECT_EQ(reason(codec_->signSegments(header, "e$J9")), "payload is not base64url");
  // A segment whose last character carries non-zero unused bits is not canonical.
  EXPECT_FALSE(base64UrlDecode("QR"));  // "A" is "QQ"
  EXPECT_EQ(*base64UrlDecode("QQ"), "A");
}

TEST_F(JwtTest, HeaderAndPayloadMustBeJsonObjects) {
  const auto payload = boost::json::serialize(valid());
  EXPECT_EQ(reason(codec_->signRaw("not json", payload)), "header is not a JSON object");
  EXPECT_EQ(reason(codec_->signRaw(R"(["HS256"])", payload)), "header is not a JSON object");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":"HS256"})", "hello world")), "payload is not a JSON object");
  EXPECT_EQ(reason(codec_->signRaw(R"({"alg":"HS256"})", "1")), "payload is not a JSON object");
}

TEST_F(JwtTest, AHugeTokenIsRefusedBeforeAnyWork) {
  auto p = valid();
  p["pad"] = std::string(7000, 'x');
  const auto token = codec_->signPayload(p);
  ASSERT_GT(token.size(), 8192u);
  EXPECT_EQ(reason(token), "too large (" + std::to_string(token.size()) + " bytes; at most 8192)");
  EXPECT_EQ(reason(std::string(1 << 20, 'A')), "too large (1048576 bytes; at most 8192)");
}

// --- signature -------------------------------------------------------------

TEST_F(JwtTest, TamperedPayloadIsABadSignature) {
  const auto token = codec_->issue("usr_1", "free");
  const auto other = codec_->issue("usr_2", "enterprise");
  const auto firstDot = token.find('.');
  const auto lastDot = token.rfind('.');
  const auto otherFirst = other.find('.');
  const auto otherLast = other.rfind('.');
  // usr_2's enterprise payload under usr_1's signature.
  const auto swapped =
      token.substr(0, firstDot + 1) + other.substr(otherFirst + 1, otherLast - otherFirst - 1) + token.substr(lastDot);
  EXPECT_EQ(reason(swapped), "bad signature");
  // A payload re-encoded by hand with a raised tier.
  auto p = valid();
  p["tier"] = "enterprise";
  EXPECT_EQ(reason(token.substr(0, firstDot + 1) + base64UrlEncode(boost::json::serialize(p)) + token.substr(lastDot)),
            "bad signature");
}

TEST_F(JwtTest, TamperedOrTruncatedSignatureIsRefused) {
  const auto token = codec_->issue("usr_1", "free");
  for (std::size_t i = token.rfind('.') + 1; i + 1 < token.size(); i += 7) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(reason(t), "bad signature") << i;
  }
  EXPECT_EQ(reason(token.substr(0, token.size() - 3)),
            "bad signature (wrong length)");  // 40 of 43 characters: 30 bytes
  EXPECT_EQ(reason(token + "AAAA"), "bad signature (wrong length)");
  EXPECT_EQ(reason(token.substr(0, token.size() - 1)), "signature is not base64url");  // a dangling 6 bits
}

TEST_F(JwtTest, AnotherKeysTokenIsABadSignature) {
  auto other = make(bytes("another key, also 32 bytes long!"), {});
  EXPECT_EQ(reason(other->issue("usr_1", "free")), "bad signature");
}

// --- time claims -------------------------------------------------------------

TEST_F(JwtTest, ExpIsRequiredAndMustBeANumber) {
  auto p = valid();
  p.erase("exp");
  EXPECT_EQ(reasonFor(p), "missing 'exp'");
  p["exp"] = "not-an-int";
  EXPECT_EQ(reasonFor(p), "'exp' is not a number");
  p["exp"] = true;
  EXPECT_EQ(reasonFor(p), "'exp' is not a number");
}

TEST_F(JwtTest, ExpiredTokensAreRefusedAfterTheLeeway) {
  auto p = valid();
  p["exp"] = kNow + 10;
  const auto token = codec_->signPayload(p);
  clock_.advance(39s);  // 29 s past exp: within the 30 s leeway
  EXPECT_EQ(reason(token), "");
  clock_.advance(1s);  // exactly exp + leeway
  EXPECT_EQ(reason(token), "expired");
  // With no leeway a token is expired at exp itself.
  ManualClock clock;
  auto strict = JwtCodec::create(bytes("0123456789abcdef0123456789abcdef"), {.leeway = 0s}, clock);
  ASSERT_TRUE(strict);
  p["exp"] = kNow + 1;
  const auto t = (*strict)->signPayload(p);
  EXPECT_TRUE((*strict)->verify(t));
  clock.advance(1s);
  EXPECT_EQ((*strict)->verify(t).error().message, "invalid token: expired");
}

TEST_F(JwtTest, NotBeforeInTheFutureIsRefusedBeyondTheLeeway) {
  auto p = valid();
  p["nbf"] = kNow + 30;
  EXPECT_EQ(reasonFor(p), "");  // within the leeway
  p["nbf"] = kNow + 31;
  EXPECT_EQ(reasonFor(p), "not yet valid (nbf is in the future)");
  clock_.advance(1s);
  EXPECT_EQ(reasonFor(p), "");
  p["nbf"] = "not-an-int";
  EXPECT_EQ(reasonFor(p), "'nbf' is not a number");
}

TEST_F(JwtTest, IssuedAtInTheFutureIsRefusedBeyondTheLeeway) {
  auto p = valid();
  p["iat"] = kNow + 31;
  EXPECT_EQ(reasonFor(p), "issued in the future (iat)");
  p["iat"] = kNow + 30;
  EXPECT_EQ(reasonFor(p), "");
  p["iat"] = "not-an-int";
  EXPECT_EQ(reasonFor(p), "'iat' is not a number");
}

// --- issuer, audience, subject ---------------------------------------------

TEST_F(JwtTest, IssuerMustBePresentAndOurs) {
  auto p = valid();
  p.erase("iss");
  EXPECT_EQ(reasonFor(p), "missing 'iss'");
  p["iss"] = "urn:wrong";
  EXPECT_EQ(reasonFor(p), "wrong issuer");
  p["iss"] = 7;
  EXPECT_EQ(reasonFor(p), "wrong issuer");
}

TEST_F(JwtTest, AudienceMustBePresentAndOurs) {
  auto p = valid();
  p.erase("aud");
  EXPECT_EQ(reasonFor(p), "missing 'aud'");
  p["aud"] = "urn:someone-else";
  EXPECT_EQ(reasonFor(p), "wrong audience");
  p["aud"] = boost::json::array{"urn:someone", "urn:someone-else"};
  EXPECT_EQ(reasonFor(p), "wrong audience");
  p["aud"] = 1;  // PyJWT: a non-string, non-list aud
  EXPECT_EQ(reasonFor(p), "wrong audience");
  p["aud"] = boost::json::array{1};
  EXPECT_EQ(reasonFor(p), "wrong audience");
}

TEST_F(JwtTest, SubjectIsRequiredAndTierMustBeAString) {
  auto p = valid();
  p.erase("sub");
  EXPECT_EQ(reasonFor(p), "missing 'sub'");
  p["sub"] = "";
  EXPECT_EQ(reasonFor(p), "missing 'sub'");
  p["sub"] = "usr_1";
  p["tier"] = 3;
  EXPECT_EQ(reasonFor(p), "'tier' is not a string");
}

TEST_F(JwtTest, CreateRejectsBadOptions) {
  ManualClock clock;
  EXPECT_EQ(JwtCodec::create({}, {}, clock).error().message, "jwt: the signing key is empty");
  EXPECT_EQ(JwtCodec::create(bytes("k"), {.ttl = 0s}, clock).error().message, "jwt.ttl must be positive");
  EXPECT_EQ(JwtCodec::create(bytes("k"), {.leeway = -1s}, clock).error().message, "jwt.leeway must not be negative");
  EXPECT_EQ(JwtCodec::create(bytes("k"), {.maxTokenBytes = 10}, clock).error().message,
            "jwt.maxTokenBytes must be at least 64");
}

}  // namespace
}  // namespace ymy::auth
