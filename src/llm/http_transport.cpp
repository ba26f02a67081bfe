#include "llm/http_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace ymy::llm {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The URL without its query: errors name the endpoint, never parameters.
std::string endpointOf(const std::string& url) { return url.substr(0, url.find('?')); }

struct Transfer {
  CURL* easy = nullptr;
  const HttpRequest* request = nullptr;
  const std::function<bool(std::string_view)>* onChunk = nullptr;
  std::size_t maxBodyBytes = 0;
  HttpResponse response;
  bool callbackStopped = false;
  bool bodyTooLarge = false;

  bool cancelled() const { return request->cancel && request->cancel->cancelled(); }
};

std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new header block (after 100 Continue, say)
  } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    t->response.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return size * n;
}

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->cancelled()) return CURL_WRITEFUNC_ERROR;
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->onChunk && status >= 200 && status < 300) {
    if (!(*t->onChunk)(std::string_view(data, bytes))) {
      t->callbackStopped = true;
      return CURL_WRITEFUNC_ERROR;
    }
    return bytes;
  }
  if (t->response.body.size() + bytes > t->maxBodyBytes) {
    t->bodyTooLarge = true;
    return CURL_WRITEFUNC_ERROR;
  }
  t->response.body.append(data, bytes);
  return bytes;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->cancelled() ? 1 : 0;  // non-zero aborts
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : headers)
    if (k == key) return v;
  return std::nullopt;
}

CurlTransport::CurlTransport() : CurlTransport(Options{}) {}

CurlTransport::CurlTransport(Options options) : options_(options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlTransport::~CurlTransport() = default;

Result<HttpResponse> CurlTransport::post(const HttpRequest& request) { return perform(request, nullptr); }

Result<HttpResponse> CurlTransport::postStreaming(const HttpRequest& request,
                                                  const std::function<bool(std::string_view)>& onChunk) {
  return perform(request, &onChunk);
}

Result<HttpResponse> CurlTransport::perform(const HttpRequest& request,
                                            const std::function<bool(std::string_view)>* onChunk) {
  const std::string endpoint = endpointOf(request.url);
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!easy || !multi) return fail(ErrorCode::kInternal, "cannot create a libcurl handle");

  Transfer t;
  t.easy = easy.get();
  t.request = &request;
  t.onChunk = onChunk;
  t.maxBodyBytes = options_.maxBodyBytes;

  curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip for large bodies
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);

  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, onProgress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connectTimeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(std::max<std::int64_t>(request.timeout.count(), 0)));
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // whatever this libcurl can decode

  curl_multi_add_handle(multi.get(), e);
  // The multi interface lets us wait in short slices and notice a cancelled
  // token promptly even while no byte arrives (the progress callback alone
  // may wait up to a second when the connection is idle).
  int running = 1;
  CURLcode code = CURLE_OK;
  bool cancelled = false;
  while (running) {
    if (t.cancelled()) {
      cancelled = true;
      break;
    }
    const CURLMcode mc = curl_multi_perform(multi.get(), &running);
    if (mc != CURLM_OK) {
      curl_multi_remove_handle(multi.get(), e);
      return fail(ErrorCode::kIo, std::string("POST ") + endpoint + ": " + curl_multi_strerror(mc));
    }
    if (!running) break;
    curl_multi_poll(multi.get(), nullptr, 0, static_cast<int>(options_.cancelPoll.count()), nullptr);
  }
  if (!cancelled) {
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &left)) {
      if (msg->msg == CURLMSG_DONE) code = msg->data.result;
    }
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle(multi.get(), e);

  if (cancelled || t.cancelled()) return fail(ErrorCode::kConflict, "POST " + endpoint + ": cancelled");
  if (t.callbackStopped) return fail(ErrorCode::kIo, "POST " + endpoint + ": aborted by the reader");
  if (t.bodyTooLarge)
    return fail(ErrorCode::kIo, "POST " + endpoint + ": the answer is larger than " +
                                    std::to_string(options_.maxBodyBytes) + " bytes");
  switch (code) {
    case CURLE_OK: break;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return fail(ErrorCode::kInvalidArgument, "POST " + endpoint + ": " + curl_easy_strerror(code));
    case CURLE_OPERATION_TIMEDOUT:
      return fail(ErrorCode::kIo, "POST " + endpoint + ": timed out after " +
                                      std::to_string(request.timeout.count()) + " ms");
    default:
      return fail(ErrorCode::kIo, "POST " + endpoint + ": " + curl_easy_strerror(code) +
                                      (status ? " (after HTTP " + std::to_string(status) + ")" : ""));
  }
  t.response.status = static_cast<int>(status);
  return std::move(t.response);
}

}  // namespace ymy::llm
