#pragma once
// Errors are values at module boundaries: every fallible function returns
// Result<T>, an expected whose error names what was wrong and where.

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace ymy {

enum class ErrorCode {
  kInvalidArgument,  // bad user input: empty request, wrong JSON shape, ...
  kNotFound,         // a file, id or resource that does not exist
  kInvalidPlan,      // a plan that fails validation (cycle, unknown dependency, ...)
  kConflict,         // not allowed in the resource's current state (a finished run, a limit reached)
  kUnprocessable,    // well-formed but meaningless (an empty or unchanged prompt)
  kTooSoon,          // allowed later: a cooldown is running, a rate limit reached
  kUnauthenticated,  // no valid credentials (a missing, bad or expired token; a failed login)
  kForbidden,        // known caller, not allowed (a permission their tier lacks, a plan too big for it)
  kIo,               // the operating system said no
  kInternal,         // a broken invariant we could still report
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // kTooSoon: milliseconds until a retry may succeed, when the refuser knows
  // (a cooldown's remainder); 0 when it does not.
  long long retryAfterMs = 0;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
};

// Stable lowercase name of a code ("invalid_argument"), for JSON error bodies.
const char* errorCodeName(ErrorCode code);

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

}  // namespace ymy
