#pragma once
// Password hashing: Argon2id through libsodium's crypto_pwhash_str, which
// writes the algorithm, its parameters and a random salt into the string it
// returns ("$argon2id$v=19$m=65536,t=2,p=1$..."), so stored hashes stay
// verifiable after the parameters change (needsRehash() says when to
// upgrade one).
//
// Memory bound: each hash or verify allocates memLimit bytes (64 MiB with the
// interactive parameters). At most `maxConcurrent` run at once; a caller that
// finds them all busy waits up to `waitTimeout` and then gets kTooSoon
// ("password hashing is busy"), which the server turns into 503 with
// Retry-After. So a flood of logins costs at most maxConcurrent x memLimit.
//
// Thread-safe. Passwords are taken as bytes; length rules are the caller's
// (AuthService).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "auth/concurrency_limit.hpp"
#include "model/error.hpp"

namespace ymy::auth {

struct PasswordHashOptions {
  unsigned long long opsLimit = 0;  // 0: libsodium's OPSLIMIT_INTERACTIVE
  std::size_t memLimit = 0;         // bytes; 0: MEMLIMIT_INTERACTIVE (64 MiB)
  std::size_t maxConcurrent = 2;    // hashes and verifies in flight at once
  std::chrono::milliseconds waitTimeout{2'000};

  // Production: libsodium's INTERACTIVE parameters.
  static PasswordHashOptions interactive();
  // Tests: MIN parameters (fast, weak; never for real passwords).
  static PasswordHashOptions minimal();
};

class PasswordHasher {
 public:
  // Initialises libsodium; kInvalidArgument naming the field when a limit is
  // outside what libsodium accepts.
  static Result<std::unique_ptr<PasswordHasher>> create(PasswordHashOptions options);

  // A new salted Argon2id string. kTooSoon when busy, kInternal when the
  // memory cannot be allocated.
  Result<std::string> hash(std::string_view password);
  // true when `password` matches `stored`, false when it does not.
  // kInvalidArgument when `stored` is not an Argon2id string; kTooSoon when busy.
  Result<bool> verify(std::string_view stored, std::string_view password);
  // Whether `stored` was made with other parameters than ours (or cannot be
  // read): hash the password again after a successful login.
  bool needsRehash(std::string_view stored) const;

  const PasswordHashOptions& options() const { return options_; }
  // The concurrency bound, for tests and /metrics.
  ConcurrencyLimit& limit() { return limit_; }

 private:
  explicit PasswordHasher(PasswordHashOptions options) : options_(options), limit_(options.maxConcurrent) {}

  // Constant after construction.
  const PasswordHashOptions options_;
  ConcurrencyLimit limit_;
};

}  // namespace ymy::auth
