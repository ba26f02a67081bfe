#include "bus/event_bus.hpp"

#include <algorithm>

#include "model/json_io.hpp"

namespace ymy::bus {

namespace {
constexpr std::size_t kReplayPage = 1000;
}

// The bus as the relay's sink. Runs on the relay's thread (Redis) or the
// publishing instance's thread (memory); never holds a bus lock across calls.
class EventBus::RelayReceiver final : public RelaySink {
 public:
  explicit RelayReceiver(EventBus& bus) : bus_(bus) {}
  void onRelayEvent(const RelayMessage& message) override { bus_.receive(message); }
  // Whatever was published while the relay was down is in the log only.
  void onRelayConnected() override { bus_.refresh(); }
  // The refresh thread takes over on its next tick.
  void onRelayLost(std::string_view) override { bus_.refreshWake_.notify_all(); }

 private:
  EventBus& bus_;
};

EventBus::EventBus(store::Store& store) : store_(store) {}

EventBus::EventBus(store::Store& store, Relay* relay, BusOptions options)
    : store_(store), relay_(relay), options_(options) {
  if (relay_ == nullptr) return;
  receiver_ = std::make_unique<RelayReceiver>(*this);
  relay_->setSink(receiver_.get());
  refresher_ = std::thread([this] { refreshLoop(); });
}

EventBus::~EventBus() {
  if (relay_ == nullptr) return;
  {
    std::lock_guard lock(refreshMutex_);
    stopRefresh_ = true;
  }
  refreshWake_.notify_all();
  refresher_.join();
  relay_->setSink(nullptr);  // waits for a call in progress
}

Published EventBus::serialize(const Event& event) {
  return Published{event.seq, std::make_shared<const std::string>(json::compact(toJson(event))),
                   event.type == "executionSummary"};
}

std::shared_ptr<EventBus::Channel> EventBus::channel(const std::string& executionId) {
  std::lock_guard lock(mutex_);
  auto& c = channels_[executionId];
  if (!c) c = std::make_shared<Channel>();
  return c;
}

std::shared_ptr<EventBus::Channel> EventBus::findChannel(const std::string& executionId) const {
  std::lock_guard lock(mutex_);
  auto it = channels_.find(executionId);
  return it == channels_.end() ? nullptr : it->second;
}

void EventBus::offer(Channel& c, const Published& message, Tally& t) {
  for (std::size_t i = c.subscribers.size(); i-- > 0;) {
    Member& m = c.subscribers[i];
    if (m.last >= message.seq) {
      ++t.duplicates;
      continue;
    }
    if (m.last + 1 != message.seq) continue;  // a gap for it: refill() first
    if (m.subscriber->deliver(message)) {
      m.last = message.seq;
      ++t.delivered;
    } else {
      ++t.dropped;
      c.remove(i);  // moves the last (already visited) into i
    }
  }
}

Result<void> EventBus::refill(const std::string& executionId, Channel& c, std::uint64_t through, Tally& t) {
  if (c.subscribers.empty()) return {};
  std::uint64_t cursor = c.subscribers.front().last;
  for (const auto& m : c.subscribers) cursor = std::min(cursor, m.last);
  while (through == 0 || cursor < through) {
    const std::size_t limit = through == 0 ? kReplayPage : std::min<std::uint64_t>(kReplayPage, through - cursor);
    auto page = store_.eventsAfter(executionId, cursor, limit);
    if (!page) return tl::unexpected(page.error());
    Tally ignored;  // subscribers already past a refilled event are not relay duplicates
    for (const auto& e : *page) {
      if (through != 0 && e.seq > through) break;
      offer(c, serialize(e), ignored);
      cursor = e.seq;
    }
    t.delivered += ignored.delivered;
    t.dropped += ignored.dropped;
    c.lastSeq = std::max(c.lastSeq, cursor);
    if (page->size() < limit || c.subscribers.empty()) break;
  }
  return {};
}

void EventBus::count(const Tally& t) {
  std::lock_guard lock(mutex_);
  delivered_ += t.delivered;
  dropped_ += t.dropped;
}

Result<void> EventBus::publish(const Event& event, const store::Fence* fence) {
  auto c = channel(event.executionId);
  Tally t;
  std::shared_ptr<const std::string> json;
  bool final = false;
  {
    std::lock_guard lock(c->mutex);
    if (auto ok = store_.appendEvent(event, fence); !ok) return ok;
    c->lastSeq = event.seq;
    c->lastSeqKnown = true;
    if (!c->subscribers.empty() || relay_ != nullptr) {
      const Published message = serialize(event);
      json = message.json;
      final = message.final;
      // Only with a relay can a subscriber be behind (it resumed from the
      // log while another instance was appending).
      const bool behind = std::any_of(c->subscribers.begin(), c->subscribers.end(),
                                      [&](const Member& m) { return m.last + 1 < event.seq; });
      if (behind) {
        if (auto ok = refill(event.executionId, *c, event.seq - 1, t); !ok) relayErrors_.fetch_add(1);
      }
      offer(*c, message, t);
    }
  }
  c->arrived.notify_all();
  {
    std::lock_guard lock(mutex_);
    ++published_;
    delivered_ += t.delivered;
    dropped_ += t.dropped;
  }
  // After the channel lock: a slow relay never holds up local delivery.
  if (relay_ != nullptr) {
    if (relay_->publish(RelayMessage{event.executionId, event.seq, final, *json})) {
      relayPublished_.fetch_add(1, std::memory_order_relaxed);
    } else {
      relayErrors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return {};
}

void EventBus::receive(const RelayMessage& message) {
  relayReceived_.fetch_add(1, std::memory_order_relaxed);
  // Only executions someone here follows have a channel; the rest are not ours.
  auto c = findChannel(message.executionId);
  if (!c) return;
  Tally t;
  {
    std::lock_guard lock(c->mutex);
    c->lastSeq = std::max(c->lastSeq, message.seq);
    const bool gap = std::any_of(c->subscribers.begin(), c->subscribers.end(),
                                 [&](const Member& m) { return m.last + 1 < message.seq; });
    if (gap) {
      relayGapsRefilled_.fetch_add(1, std::memory_order_relaxed);
      if (auto ok = refill(message.executionId, *c, message.seq - 1, t); !ok) relayErrors_.fetch_add(1);
    }
    if (!c->subscribers.empty()) {
      offer(*c, Published{message.seq, std::make_shared<const std::string>(message.json), message.final}, t);
    }
  }
  c->arrived.notify_all();
  relayDuplicates_.fetch_add(t.duplicates, std::memory_order_relaxed);
  count(t);
}

void EventBus::refresh() {
  if (relay_ == nullptr) return;
  std::vector<std::pair<std::string, std::shared_ptr<Channel>>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, c] : channels_) all.emplace_back(id, c);
  }
  Tally t;
  for (const auto& [id, c] : all) {
    bool woke = false;
    {
      std::lock_guard lock(c->mutex);
      if (c->subscribers.empty() && c->pollers == 0) continue;
      auto last = store_.lastSeq(id);
      if (!last) {
        relayErrors_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (*last > c->lastSeq || !c->lastSeqKnown) {
        woke = *last > c->lastSeq;
        c->lastSeq = *last;
        c->lastSeqKnown = true;
      }
      const bool behind = std::any_of(c->subscribers.begin(), c->subscribers.end(),
                                      [&](const Member& m) { return m.last < *last; });
      if (behind) {
        relayGapsRefilled_.fetch_add(1, std::memory_order_relaxed);
        if (auto ok = refill(id, *c, *last, t); !ok) relayErrors_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (woke) c->arrived.notify_all();
  }
  count(t);
}

void EventBus::refreshLoop() {
  auto lastRefresh = std::chrono::steady_clock::now();
  std::unique_lock lock(refreshMutex_);
  while (!stopRefresh_) {
    refreshWake_.wait_for(lock, options_.refreshInterval, [&] { return stopRefresh_; });
    if (stopRefresh_) break;
    const auto now = std::chrono::steady_clock::now();
    if (relay_->connected() && now - lastRefresh < options_.backstopInterval) continue;
    lock.unlock();
    refresh();
    lock.lock();
    lastRefresh = now;
  }
}

Result<std::unique_ptr<EventBus::Subscription>> EventBus::subscribe(const std::string& executionId, std::uint64_t after,
                                                                    std::shared_ptr<Subscriber> subscriber) {
  auto c = channel(executionId);
  std::unique_ptr<Subscription> subscription(new Subscription(*this, executionId, subscriber));
  std::lock_guard lock(c->mutex);
  // Replay the log after `after`; publishers wait on this lock, so nothing is
  // appended here between the last replayed event and going live (another
  // instance may append: the relay brings those, deduplicated by position).
  std::uint64_t cursor = after;
  bool replayedAny = false;
  for (;;) {
    auto page = store_.eventsAfter(executionId, cursor, kReplayPage);
    if (!page) return tl::unexpected(page.error());
    for (const auto& e : *page) {
      if (!subscriber->deliver(serialize(e))) {
        return fail(ErrorCode::kInvalidArgument, "subscriber for " + executionId + " could not take the replay");
      }
      cursor = e.seq;
      replayedAny = true;
    }
    if (page->size() < kReplayPage) break;
  }
  subscription->replayedThrough_ = cursor;
  // Its position: what it was given, or, when it resumed past the end of the
  // log, the end of the log (it takes the next event appended, as it always did).
  std::uint64_t position = cursor;
  if (!replayedAny) {
    if (relay_ == nullptr && c->lastSeqKnown) {
      position = std::min(after, c->lastSeq);  // in-process, the channel knows the end of the log
    } else {
      auto last = store_.lastSeq(executionId);
      if (!last) return tl::unexpected(last.error());
      position = std::min(after, *last);
    }
  }
  c->add(std::move(subscriber), position);
  return subscription;
}

void EventBus::unsubscribe(const std::string& executionId, const std::shared_ptr<Subscriber>& subscriber) {
  auto c = findChannel(executionId);
  if (!c) return;
  std::lock_guard lock(c->mutex);
  if (auto it = c->position.find(subscriber.get()); it != c->position.end()) c->remove(it->second);
}

void EventBus::Channel::add(std::shared_ptr<Subscriber> s, std::uint64_t last) {
  if (position.count(s.get())) return;
  position[s.get()] = subscribers.size();
  subscribers.push_back(Member{std::move(s), last});
}

void EventBus::Channel::remove(std::size_t i) {
  position.erase(subscribers[i].subscriber.get());
  if (i + 1 != subscribers.size()) {
    subscribers[i] = std::move(subscribers.back());
    position[subscribers[i].subscriber.get()] = i;
  }
  subscribers.pop_back();
}

EventBus::Subscription::~Subscription() { bus_.unsubscribe(executionId_, subscriber_); }

Result<std::vector<Published>> EventBus::poll(const std::string& executionId, std::uint64_t after, std::size_t limit,
                                              std::chrono::milliseconds wait) {
  auto c = channel(executionId);
  {
    std::unique_lock lock(c->mutex);
    // With a relay another instance may have appended since we last looked.
    if (!c->lastSeqKnown || relay_ != nullptr) {
      auto last = store_.lastSeq(executionId);
      if (!last) return tl::unexpected(last.error());
      c->lastSeq = std::max(c->lastSeq, *last);
      c->lastSeqKnown = true;
    }
    auto ready = [&] {
      std::lock_guard busLock(mutex_);
      return c->lastSeq > after || closed_;
    };
    if (!ready() && wait.count() > 0) {
      ++c->pollers;
      c->arrived.wait_for(lock, wait, ready);
      --c->pollers;
    }
  }
  auto events = store_.eventsAfter(executionId, after, limit);
  if (!events) return tl::unexpected(events.error());
  std::vector<Published> out;
  out.reserve(events->size());
  for (const auto& e : *events) out.push_back(serialize(e));
  return out;
}

void EventBus::close() {
  std::vector<std::shared_ptr<Channel>> all;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [id, c] : channels_) all.push_back(c);
  }
  for (auto& c : all) {
    { std::lock_guard lock(c->mutex); }
    c->arrived.notify_all();
  }
}

BusStats EventBus::stats() const {
  std::vector<std::shared_ptr<Channel>> all;
  BusStats s;
  {
    std::lock_guard lock(mutex_);
    s.published = published_;
    s.delivered = delivered_;
    s.dropped = dropped_;
    for (const auto& [id, c] : channels_) all.push_back(c);
  }
  for (const auto& c : all) {
    std::lock_guard lock(c->mutex);
    s.subscribers += c->subscribers.size();
    s.pollers += c->pollers;
  }
  s.relayPublished = relayPublished_.load(std::memory_order_relaxed);
  s.relayReceived = relayReceived_.load(std::memory_order_relaxed);
  s.relayDuplicates = relayDuplicates_.load(std::memory_order_relaxed);
  s.relayGapsRefilled = relayGapsRefilled_.load(std::memory_order_relaxed);
  s.relayErrors = relayErrors_.load(std::memory_order_relaxed);
  s.relayConnected = relay_ != nullptr && relay_->connected();
  return s;
}

}  // namespace ymy::bus
