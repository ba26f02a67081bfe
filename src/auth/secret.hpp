#pragma once
// The server secret that signs tokens: generated and kept under --data on
// first start, or given by the operator.
//
// The secret is the file's bytes without trailing whitespace (so `echo` and
// editors' final newlines do not matter). It must be at least kMinSecretBytes
// long, and a file must not be readable or writable by others nor writable by
// its group: anyone who can read it can mint tokens. Errors name the file and
// say what to do; they never echo the secret.

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "model/error.hpp"

namespace ymy::auth {

inline constexpr std::size_t kMinSecretBytes = 32;

using Secret = std::vector<unsigned char>;

// <dataDir>/auth/jwt-secret: read when it exists (with the checks above),
// otherwise created with 48 random bytes written as base64url (64
// characters), mode 0600. Two processes starting at once end up with the same
// secret: the file is created under a temporary name and linked into place,
// and the loser reads the winner's. kIo when the file cannot be read or written.
Result<Secret> loadOrCreateSecret(const std::filesystem::path& dataDir);

// An operator's secret file (--jwt-secret-file): must exist; kInvalidArgument
// when it is too short or too open.
Result<Secret> loadSecretFile(const std::filesystem::path& file);

// An operator's secret given as text (an environment variable): only the length is checked.
Result<Secret> secretFromText(std::string_view text);

}  // namespace ymy::auth
