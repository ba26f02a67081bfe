#include "auth/secret.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "auth/jwt.hpp"

namespace ymy::auth {

namespace {

std::string trimmed(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return std::string(text);
}

Result<Secret> checkLength(std::string text, const std::string& where) {
  if (text.size() < kMinSecretBytes) {
    return fail(ErrorCode::kInvalidArgument, "the JWT secret " + where + " is " + std::to_string(text.size()) +
                                                 " bytes; at least " + std::to_string(kMinSecretBytes) +
                                                 " are needed (e.g. `openssl rand -base64 48`)");
  }
  Secret secret(text.begin(), text.end());
  sodium_memzero(text.data(), text.size());
  return secret;
}

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

Result<Secret> secretFromText(std::string_view text) { return checkLength(trimmed(text), "given"); }

Result<Secret> loadSecretFile(const std::filesystem::path& file) {
  const std::string where = "in " + file.string();
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    const int err = errno;
    return fail(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                "cannot read the JWT secret " + file.string() + ": " + errnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorCode::kIo, "the JWT secret " + file.string() + " is not a regular file");
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return fail(ErrorCode::kInvalidArgument, "the JWT secret " + file.string() + " has mode " + mode +
                                                 ": others could read or change it; run `chmod 600 " + file.string() +
                                                 "`");
  }
  std::string text;
  char buf[512];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(ErrorCode::kIo, "cannot read the JWT secret " + file.string() + ": " + errnoText(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 64 * 1024) {
      ::close(fd);
      return fail(ErrorCode::kInvalidArgument, "the JWT secret " + file.string() + " is larger than 64 KiB");
    }
  }
  ::close(fd);
  sodium_memzero(buf, sizeof buf);
  return checkLength(trimmed(text), where);
}

Result<Secret> loadOrCreateSecret(const std::filesystem::path& dataDir) {
  if (sodium_init() < 0) return fail(ErrorCode::kInternal, "libsodium failed to initialise");
  const auto dir = dataDir / "auth";
  const auto file = dir / "jwt-secret";
  auto existing = loadSecretFile(file);
  if (existing || existing.error().code != ErrorCode::kNotFound) return existing;

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());
  unsigned char random[48];
  randombytes_buf(random, sizeof random);
  std::string text = base64UrlEncode(std::span<const unsigned char>(random, sizeof random)) + "\n";
  sodium_memzero(random, sizeof random);

  // Written in full under a private name, then linked into place: a reader
  // never sees a half-written secret, and link() fails if another process
  // got there first.
  // The temporary name is unique per call (threads share a pid).
  const auto temp = dir / ("jwt-secret.tmp." + std::to_string(::getpid()) + "." + std::to_string(randombytes_random()));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create " + temp.string() + ": " + errnoText(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int writeErr = errno;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!written) {
    ::unlink(temp.c_str());
    return fail(ErrorCode::kIo, "cannot write " + temp.string() + ": " + errnoText(writeErr));
  }
  const int linked = ::link(temp.c_str(), file.c_str());
  const int linkErr = errno;
  ::unlink(temp.c_str());
  if (linked != 0 && linkErr != EEXIST) {
    return fail(ErrorCode::kIo, "cannot create " + file.string() + ": " + errnoText(linkErr));
  }
  return loadSecretFile(file);
}

}  // namespace ymy::auth
