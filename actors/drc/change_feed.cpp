#include "actors/drc/change_feed.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone {

namespace {

constexpr int64_t kKeepAliveMs = 15000;
constexpr size_t kReplayPageRows = 1000;

std::string sse_event(const dal::FeedEvent& e) {
  nlohmann::json data{{"table", e.table}, {"pk", e.pk},         {"op", dal::change_op_name(e.op)},
                      {"shard", e.shard}, {"origin", e.origin}, {"hlc", e.hlc}};
  return "id: " + std::to_string(e.id) + "\nevent: change\ndata: " + dump_json(data) + "\n\n";
}

std::vector<std::string> split_tables(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!name.empty()) out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

struct ChangeFeedHub::Impl {
  dal::Dal& dal;
  Counter& opened;
  Counter& refused;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  int active = 0;  // streams admitted and not yet finished; stop() waits for 0

  Impl(dal::Dal& d, Metrics& m)
      : dal(d),
        opened(m.counter("ezone_drc_feed_streams_total", "Change-feed streams opened")),
        refused(m.counter("ezone_drc_feed_refused_total", "Change-feed streams refused (limit or bad request)")) {}

  void finished();
  // One stream's life, on its own thread: subscribe, replay, then live.
  void run(std::shared_ptr<StreamWriter> writer, std::vector<std::string> tables, std::optional<uint64_t> since);
};

void ChangeFeedHub::Impl::run(std::shared_ptr<StreamWriter> writer, std::vector<std::string> tables,
                              std::optional<uint64_t> since) {
  auto wanted = [tables](const std::string& t) {
    return tables.empty() || std::find(tables.begin(), tables.end(), t) != tables.end();
  };
  // Live events are buffered until the replay is done, then only those
  // after the replay's last id are sent: no gap and no repeat.
  std::mutex live_mutex;
  bool live = false;
  uint64_t last_sent = 0;
  std::vector<dal::FeedEvent> early;
  const uint64_t sub = dal.subscribe([&](const std::vector<dal::FeedEvent>& events) {
    std::lock_guard<std::mutex> lock(live_mutex);
    for (const dal::FeedEvent& e : events) {
      if (!wanted(e.table)) continue;
      if (!live) {
        early.push_back(e);
      } else if (e.id > last_sent) {
        writer->write(sse_event(e));
        last_sent = e.id;
      }
    }
  });
  writer->write(": ezone change feed\n\n");
  if (since) {
    uint64_t from = *since;
    for (;;) {
      auto page = dal.feed_since(from, tables, kReplayPageRows);
      if (!page || page.value().empty() || writer->closed()) break;
      for (const dal::FeedEvent& e : page.value()) writer->write(sse_event(e));
      from = page.value().back().id;
      std::lock_guard<std::mutex> lock(live_mutex);
      last_sent = from;
    }
  }
  {
    std::lock_guard<std::mutex> lock(live_mutex);
    for (const dal::FeedEvent& e : early) {
      if (e.id > last_sent) {
        writer->write(sse_event(e));
        last_sent = e.id;
      }
    }
    early.clear();
    live = true;
  }
  int64_t idle_ms = 0;
  std::unique_lock<std::mutex> lock(mutex);
  while (!stopping && !writer->closed()) {
    wake.wait_for(lock, std::chrono::milliseconds(200));
    idle_ms += 200;
    if (idle_ms >= kKeepAliveMs) {
      idle_ms = 0;
      writer->write(": keep-alive\n\n");
    }
  }
  lock.unlock();
  dal.unsubscribe(sub);  // after this the callback (and its references) is gone
  writer->close();
  finished();
}

void ChangeFeedHub::Impl::finished() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    --active;
  }
  wake.notify_all();
}

ChangeFeedHub::ChangeFeedHub(dal::Dal& dal, Metrics& metrics) : impl_(std::make_shared<Impl>(dal, metrics)) {}

ChangeFeedHub::~ChangeFeedHub() { stop(); }

void ChangeFeedHub::stop() {
  std::unique_lock<std::mutex> lock(impl_->mutex);
  impl_->stopping = true;
  impl_->wake.notify_all();
  // Each stream thread ends within its 200 ms wait; a stream whose response
  // never started is released by its FeedStream's destructor.
  impl_->wake.wait_for(lock, std::chrono::seconds(10), [this] { return impl_->active == 0; });
}

namespace {

class FeedStream final : public ResponseStream {
 public:
  FeedStream(std::shared_ptr<ChangeFeedHub::Impl> hub, std::vector<std::string> tables, std::optional<uint64_t> since)
      : hub_(std::move(hub)), tables_(std::move(tables)), since_(since) {}
  ~FeedStream() override {
    if (!started_) hub_->finished();  // the connection ended before the stream began
  }
  void start(std::shared_ptr<StreamWriter> writer) override {
    started_ = true;
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(hub_->mutex);
      stopping = hub_->stopping;
    }
    if (stopping) {
      writer->close();
      return hub_->finished();  // wakes stop(), which waits for the count
    }
    // Detached: the hub counts it, and stop() waits for the count to drain.
    std::thread([hub = hub_, writer, tables = tables_, since = since_] { hub->run(writer, tables, since); }).detach();
  }

 private:
  std::shared_ptr<ChangeFeedHub::Impl> hub_;
  std::vector<std::string> tables_;
  std::optional<uint64_t> since_;
  bool started_ = false;
};

Result<std::optional<uint64_t>> parse_since(const HttpRequest& req) {
  std::string text = req.query_param("since");
  if (text.empty()) text = req.header("last-event-id");
  if (text.empty()) return std::optional<uint64_t>();
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > UINT64_MAX / 10) {
      return Status(Errc::invalid_argument, "'since' (or Last-Event-ID) must be a feed id, a decimal number");
    }
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return std::optional<uint64_t>(v);
}

}  // namespace

Endpoint ChangeFeedHub::endpoint() {
  Endpoint e;
  e.method = "GET";
  e.pattern = "/drc/v1/changes";
  e.entrance = Entrance::internal;
  e.key = KeyExtractor{};  // every site has its own feed: served where it is asked
  e.access = Access::read;
  e.handler = [hub = impl_](HttpRequest&& req, HttpResponder respond) {
    auto since = parse_since(req);
    if (!since) {
      hub->refused.inc();
      return void(respond(HttpResponse::error(400, since.status().message())));
    }
    std::vector<std::string> tables = split_tables(req.query_param("tables"));
    for (const std::string& t : tables) {
      if (!hub->dal.schema().find(t)) {
        hub->refused.inc();
        return void(respond(HttpResponse::error(400, "unknown table '" + t + "' in 'tables'")));
      }
    }
    {
      std::lock_guard<std::mutex> lock(hub->mutex);
      if (hub->active >= kFeedStreamsMax || hub->stopping) {
        hub->refused.inc();
        HttpResponse busy = HttpResponse::error(503, "too many change-feed streams (" + std::to_string(kFeedStreamsMax) + ")");
        busy.headers.emplace_back("Retry-After", "1");
        return void(respond(std::move(busy)));
      }
      ++hub->active;
    }
    hub->opened.inc();
    HttpResponse r;
    r.status = 200;
    r.content_type = "text/event-stream";
    r.stream = std::make_shared<FeedStream>(hub, std::move(tables), since.value());
    respond(std::move(r));
  };
  return e;
}

}  // namespace ezone
