#include "actors/http/http_server.hpp"

#include <atomic>
#include <cctype>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ezone {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct ServerCounters {
  Counter* requests;
  Counter* bad_requests;
  Counter* too_large;
  Counter* rejected_connections;
  Gauge* open_connections;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const HttpServerOptions& options, const HttpHandler& handler,
          ServerCounters& counters, std::atomic<int64_t>& open)
      : stream_(std::move(socket)), options_(options), handler_(handler), counters_(counters),
        open_(open) {
    ++open_;
    counters_.open_connections->add(1);
  }
  ~Session() {
    --open_;
    counters_.open_connections->add(-1);
  }

  void start() { read(); }

  // Answers once and closes: used when the connection limit is reached.
  void reject_busy() {
    auto res = std::make_shared<http::response<http::string_body>>(http::status::service_unavailable, 11);
    res->set(http::field::retry_after, "1");
    res->set(http::field::content_type, "application/json");
    res->body() = "{\"error\":\"too many connections\"}\n";
    res->keep_alive(false);
    res->prepare_payload();
    write(res);
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(options_.body_bytes_max));
    parser_->header_limit(static_cast<uint32_t>(options_.header_bytes_max));
    stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof)
      return close();
    if (ec) return answer_bad(ec);
    respond(parser_->release());
  }

  void answer_bad(beast::error_code ec) {
    bool large = ec == http::error::body_limit || ec == http::error::header_limit ||
                 ec == http::error::buffer_overflow;
    (large ? counters_.too_large : counters_.bad_requests)->inc();
    auto status = large ? http::status::payload_too_large : http::status::bad_request;
    auto res = std::make_shared<http::response<http::string_body>>(status, 11);
    res->set(http::field::content_type, "application/json");
    res->body() = std::string("{\"error\":\"") + (large ? "request too large" : "malformed request") +
                  "\"}\n";
    res->keep_alive(false);
    res->prepare_payload();
    write(res);
  }

  void respond(http::request<http::string_body> req) {
    counters_.requests->inc();
    HttpRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    in.body = std::move(req.body());
    HttpResponse out = handler_(in);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(out.status), req.version());
    res->set(http::field::content_type, out.content_type);
    if (!options_.ezone.empty()) res->set("X-Ezone", options_.ezone);
    for (const auto& [k, v] : out.headers) res->set(k, v);
    res->body() = std::move(out.body);
    res->keep_alive(req.keep_alive());
    res->prepare_payload();
    write(res);
  }

  void write(std::shared_ptr<http::response<http::string_body>> res) {
    stream_.expires_after(std::chrono::milliseconds(options_.idle_timeout_ms));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  ServerCounters& counters_;
  std::atomic<int64_t>& open_;
};

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions options, HttpHandler handler, Metrics& metrics)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(io_) {
    MetricLabels server{{"server", options_.name}};
    counters_.requests = &metrics.counter("ezone_http_requests_total", "HTTP requests served", server);
    counters_.bad_requests = &metrics.counter("ezone_http_bad_requests_total",
                                              "Malformed HTTP requests rejected", server);
    counters_.too_large = &metrics.counter("ezone_http_too_large_total",
                                           "HTTP requests over the header or body limit", server);
    counters_.rejected_connections = &metrics.counter(
        "ezone_http_rejected_connections_total", "Connections refused at the limit", server);
    counters_.open_connections = &metrics.gauge("ezone_http_open_connections",
                                                "Open HTTP connections", server);
  }
  ~BeastServer() override { stop(); }

  Status listen() {
    beast::error_code ec;
    auto address = asio::ip::make_address(options_.bind.host, ec);
    if (ec) {
      tcp::resolver resolver(io_);
      auto found = resolver.resolve(options_.bind.host, std::to_string(options_.bind.port), ec);
      if (ec || found.empty()) return bind_error("cannot resolve host: " + ec.message());
      address = found.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, options_.bind.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return bind_error(ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { io_.run(); });
    return Status::ok();
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // No I/O thread runs any more, so the acceptor can be closed directly;
    // open sessions die with io_ (their handlers own them).
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

  uint16_t port() const override { return port_; }

 private:
  Status bind_error(const std::string& why) {
    return Status(Errc::unavailable, "key '" + options_.config_key + "': cannot listen on " +
                                         options_.bind.to_string() + ": " + why +
                                         ". Fix: free the port or choose another for " +
                                         options_.config_key);
  }

  void accept() {
    acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        auto session = std::make_shared<Session>(std::move(socket), options_, handler_, counters_, open_);
        if (open_.load() > options_.connections_max) {
          counters_.rejected_connections->inc();
          session->reject_busy();
        } else {
          session->start();
        }
      }
      accept();
    });
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  ServerCounters counters_{};
  std::atomic<int64_t> open_{0};
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler,
                                                      Metrics& metrics) {
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler), metrics);
  if (Status s = server->listen(); !s) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace ezone
