#pragma once
// Accounts and sessions: register and log in with an email and a password,
// and validate the tokens handed out.
//
// registerUser(email, password) -> {userId, token, tier}: the email is
// trimmed of nothing and lower-cased (see normalizeEmail), the password must
// be minPasswordBytes..maxPasswordBytes long, the user gets the default tier.
// login(email, password) -> the same. validate(token) -> {userId, tier,
// permissions}: a JWT check only, no store read (it runs on every API call);
// the permissions are the tier's from the tier table, so a tier's change of
// permissions applies at once, and a user's change of tier at their next login.
//
// Errors (the HTTP layer maps them): kInvalidArgument for a bad email or
// password on registration (naming which and why); kConflict when the email
// is registered; kUnauthenticated "invalid email or password" for any failed
// login (never saying which, and costing one Argon2 verify either way, so
// neither the answer nor its time tells whether an email is registered);
// kUnauthenticated "invalid token: <reason>" from validate (401); kTooSoon when
// password hashing is at its concurrency bound (503 + Retry-After); kIo from
// the store.
//
// Thread-safe if the store is (every Store is). All references must outlive
// the service.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/tiers.hpp"
#include "model/clock.hpp"
#include "model/error.hpp"
#include "store/store.hpp"

namespace ymy::auth {

struct AuthServiceOptions {
  std::size_t minPasswordBytes = 8;
  std::size_t maxPasswordBytes = 1024;  // bounds the bytes Argon2 reads per attempt
};

struct Session {
  std::string userId;
  std::string token;
  std::string tier;
};

struct Identity {
  std::string userId;
  std::string tier;
  std::vector<std::string> permissions;
};

// Lower-cased, or kInvalidArgument saying what is wrong: empty, longer than
// 254 bytes, not exactly one '@', an empty or over-64-byte local part, a
// domain without a dot or with an empty label, spaces or control characters.
Result<std::string> normalizeEmail(std::string_view email);

class AuthService {
 public:
  // Hashes a throwaway password once, for logins with an unknown email.
  static Result<std::unique_ptr<AuthService>> create(store::Store& store, PasswordHasher& hasher, const JwtCodec& jwt,
                                                     const TierTable& tiers, const Clock& clock,
                                                     AuthServiceOptions options = {});

  Result<Session> registerUser(std::string_view email, std::string_view password);
  Result<Session> login(std::string_view email, std::string_view password);
  Result<Identity> validate(std::string_view token) const;

 private:
  AuthService(store::Store& store, PasswordHasher& hasher, const JwtCodec& jwt, const TierTable& tiers,
              const Clock& clock, AuthServiceOptions options, std::string dummyHash);
  Result<void> checkPassword(std::string_view password) const;

  // Constant after construction.
  store::Store& store_;
  PasswordHasher& hasher_;
  const JwtCodec& jwt_;
  const TierTable& tiers_;
  const Clock& clock_;
  const AuthServiceOptions options_;
  const std::string dummyHash_;
};

}  // namespace ymy::auth
