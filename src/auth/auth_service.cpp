#include "auth/auth_service.hpp"

#include <algorithm>

namespace ymy::auth {

namespace {

tl::unexpected<Error> badLogin() { return fail(ErrorCode::kUnauthenticated, "invalid email or password"); }

}  // namespace

Result<std::string> normalizeEmail(std::string_view email) {
  auto bad = [](const std::string& why) { return fail(ErrorCode::kInvalidArgument, "email " + why); };
  if (email.empty()) return bad("is empty");
  if (email.size() > 254) return bad("is longer than 254 bytes");
  for (const unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f) return bad("contains a space or a control character");
  }
  const auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return bad("must contain exactly one '@'");
  }
  const auto local = email.substr(0, at);
  const auto domain = email.substr(at + 1);
  if (local.empty()) return bad("has nothing before the '@'");
  if (local.size() > 64) return bad("has more than 64 bytes before the '@'");
  if (domain.find('.') == std::string_view::npos) return bad("domain must contain a '.'");
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string_view::npos) {
    return bad("domain has an empty label");
  }
  std::string out(email);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

Result<std::unique_ptr<AuthService>> AuthService::create(store::Store& store, PasswordHasher& hasher,
                                                         const JwtCodec& jwt, const TierTable& tiers,
                                                         const Clock& clock, AuthServiceOptions options) {
  if (options.minPasswordBytes == 0 || options.maxPasswordBytes < options.minPasswordBytes) {
    return fail(ErrorCode::kInvalidArgument, "auth: minPasswordBytes must be positive and at most maxPasswordBytes");
  }
  auto dummy = hasher.hash("a password no account has");
  if (!dummy) return tl::unexpected(dummy.error());
  return std::unique_ptr<AuthService>(new AuthService(store, hasher, jwt, tiers, clock, options, std::move(*dummy)));
}

AuthService::AuthService(store::Store& store, PasswordHasher& hasher, const JwtCodec& jwt, const TierTable& tiers,
                         const Clock& clock, AuthServiceOptions options, std::string dummyHash)
    : store_(store),
      hasher_(hasher),
      jwt_(jwt),
      tiers_(tiers),
      clock_(clock),
      options_(options),
      dummyHash_(std::move(dummyHash)) {}

Result<void> AuthService::checkPassword(std::string_view password) const {
  if (password.size() < options_.minPasswordBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "password must be at least " + std::to_string(options_.minPasswordBytes) + " bytes");
  }
  if (password.size() > options_.maxPasswordBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "password must be at most " + std::to_string(options_.maxPasswordBytes) + " bytes");
  }
  return {};
}

Result<Session> AuthService::registerUser(std::string_view email, std::string_view password) {
  auto normalized = normalizeEmail(email);
  if (!normalized) return tl::unexpected(normalized.error());
  if (auto ok = checkPassword(password); !ok) return tl::unexpected(ok.error());
  auto hash = hasher_.hash(password);
  if (!hash) return tl::unexpected(hash.error());
  store::UserRecord user{store::newId("usr"), std::move(*normalized), std::move(*hash), tiers_.defaultTier().name,
                         clock_.epochMillis()};
  if (auto ok = store_.createUser(user); !ok) return tl::unexpected(ok.error());
  return Session{user.id, jwt_.issue(user.id, user.tier), user.tier};
}

Result<Session> AuthService::login(std::string_view email, std::string_view password) {
  auto normalized = normalizeEmail(email);
  if (!normalized || password.empty() || password.size() > options_.maxPasswordBytes) return badLogin();
  auto user = store_.findUserByEmail(*normalized);
  if (!user) {
    if (user.error().code != ErrorCode::kNotFound) return tl::unexpected(user.error());
    // Spend what a real check would, so timing does not reveal unknown emails.
    auto ignored = hasher_.verify(dummyHash_, password);
    if (!ignored && ignored.error().code == ErrorCode::kTooSoon) return tl::unexpected(ignored.error());
    return badLogin();
  }
  auto match = hasher_.verify(user->passwordHash, password);
  if (!match) {
    if (match.error().code == ErrorCode::kTooSoon) return tl::unexpected(match.error());
    return fail(ErrorCode::kInternal, "user " + user->id + " has an unreadable password hash");
  }
  if (!*match) return badLogin();
  if (hasher_.needsRehash(user->passwordHash)) {
    // Best effort: the login succeeds whether or not the upgrade is stored.
    if (auto upgraded = hasher_.hash(password)) (void)store_.setUserPasswordHash(user->id, *upgraded);
  }
  return Session{user->id, jwt_.issue(user->id, user->tier), user->tier};
}

Result<Identity> AuthService::validate(std::string_view token) const {
  auto claims = jwt_.verify(token);
  if (!claims) return tl::unexpected(claims.error());
  const TierLimits* tier = tiers_.find(claims->tier);
  if (tier == nullptr) {
    return fail(ErrorCode::kUnauthenticated, "invalid token: tier '" + claims->tier + "' is not configured");
  }
  return Identity{std::move(claims->subject), tier->name, tier->permissions};
}

}  // namespace ymy::auth
