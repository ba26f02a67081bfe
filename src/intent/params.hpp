#pragma once
// Numbers people write in requests, normalised: "5k req/s", "5,000 requests
// per second", "300k rpm" -> rps; "p99 under 200ms", "2 seconds" (near a
// latency word) -> latency_ms; "10 million users", "2M DAU" -> users;
// "50k concurrent connections" -> connections; "99.99% uptime" -> availability.

#include <vector>

#include "intent/text.hpp"
#include "model/intent_frame.hpp"

namespace ymy::intent {

Params extractParams(const std::vector<Token>& tokens);

}  // namespace ymy::intent
