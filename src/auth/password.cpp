#include "auth/password.hpp"

#include <sodium.h>

namespace ymy::auth {

namespace {

tl::unexpected<Error> busy(const PasswordHashOptions& options) {
  return fail(ErrorCode::kTooSoon, "password hashing is busy (" + std::to_string(options.maxConcurrent) +
                                       " in flight for " + std::to_string(options.waitTimeout.count()) +
                                       " ms); try again shortly");
}

}  // namespace

PasswordHashOptions PasswordHashOptions::interactive() {
  PasswordHashOptions o;
  o.opsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  o.memLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  return o;
}

PasswordHashOptions PasswordHashOptions::minimal() {
  PasswordHashOptions o;
  o.opsLimit = crypto_pwhash_OPSLIMIT_MIN;
  o.memLimit = crypto_pwhash_MEMLIMIT_MIN;
  return o;
}

Result<std::unique_ptr<PasswordHasher>> PasswordHasher::create(PasswordHashOptions options) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium failed to initialise");
  if (options.opsLimit == 0) options.opsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  if (options.memLimit == 0) options.memLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  if (options.opsLimit < crypto_pwhash_OPSLIMIT_MIN || options.opsLimit > crypto_pwhash_OPSLIMIT_MAX) {
    return fail(ErrorCode::kInvalidArgument, "password.opsLimit must be between " +
                                                 std::to_string(crypto_pwhash_OPSLIMIT_MIN) + " and " +
                                                 std::to_string(crypto_pwhash_OPSLIMIT_MAX));
  }
  if (options.memLimit < crypto_pwhash_MEMLIMIT_MIN || options.memLimit > crypto_pwhash_MEMLIMIT_MAX) {
    return fail(ErrorCode::kInvalidArgument,
                "password.memLimit must be at least " + std::to_string(crypto_pwhash_MEMLIMIT_MIN) + " bytes");
  }
  if (options.maxConcurrent == 0) return fail(ErrorCode::kInvalidArgument, "password.maxConcurrent must be at least 1");
  return std::unique_ptr<PasswordHasher>(new PasswordHasher(options));
}

Result<std::string> PasswordHasher::hash(std::string_view password) {
  auto permit = limit_.acquire(options_.waitTimeout);
  if (!permit) return busy(options_);
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), options_.opsLimit, options_.memLimit) != 0) {
    return fail(ErrorCode::kInternal, "password hashing ran out of memory");
  }
  return std::string(out);
}

Result<bool> PasswordHasher::verify(std::string_view stored, std::string_view password) {
  // crypto_pwhash_str_verify wants a NUL-terminated string of bounded length,
  // and answers -1 both for a mismatch and for a string it cannot read.
  if (!stored.starts_with("$argon2id$") || stored.size() >= crypto_pwhash_STRBYTES) {
    return fail(ErrorCode::kInvalidArgument, "stored password hash is not an Argon2id string");
  }
  auto permit = limit_.acquire(options_.waitTimeout);
  if (!permit) return busy(options_);
  const std::string terminated(stored);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool PasswordHasher::needsRehash(std::string_view stored) const {
  if (stored.size() >= crypto_pwhash_STRBYTES) return true;
  const std::string terminated(stored);
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), options_.opsLimit, options_.memLimit) != 0;
}

}  // namespace ymy::auth
