#include "actors/http/http_server.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include "actors/http/http_session.hpp"

namespace ezone {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// The pause before accepting again after accept failed (e.g. no free fd).
constexpr int64_t kAcceptRetryMs = 50;

class BeastServer final : public HttpServer {
 public:
  BeastServer(HttpServerOptions options, AsyncHttpHandler handler, Metrics& metrics,
              std::shared_ptr<IoThreads> io)
      : io_(std::move(io)), core_(std::make_shared<http_detail::ServerCore>()) {
    core_->counters = http_detail::make_server_counters(metrics, options.name);
    core_->options = std::move(options);
    core_->handler = std::move(handler);
    core_->pool = &io_->impl();
    acceptor_.emplace(io_->impl().lanes[0]->io);
    accept_retry_.emplace(io_->impl().lanes[0]->io);
  }
  ~BeastServer() override { stop(); }

  Status listen();

  void stop() override {
    core_->running.store(false);
    io_->stop();
    // No lane runs any more, so the acceptor can be closed from here; open
    // sessions die with the lanes' queued work.
    beast::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
  }

  uint16_t port() const override { return port_; }

 private:
  Status bind_error(const std::string& why) {
    const auto& o = core_->options;
    return Status(Errc::unavailable, "key '" + o.config_key + "': cannot listen on " + o.bind.to_string() +
                                         ": " + why + ". Fix: free the port or choose another for " +
                                         o.config_key);
  }

  void accept();

  std::shared_ptr<IoThreads> io_;  // first: destroyed after the acceptor
  std::shared_ptr<http_detail::ServerCore> core_;
  std::optional<asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>> acceptor_;
  std::optional<asio::steady_timer> accept_retry_;
  uint16_t port_ = 0;
};

Status BeastServer::listen() {
  const HostPort& bind = core_->options.bind;
  beast::error_code ec;
  auto address = asio::ip::make_address(bind.host, ec);
  if (ec) {
    tcp::resolver resolver(io_->impl().lanes[0]->io);
    auto found = resolver.resolve(bind.host, std::to_string(bind.port), ec);
    if (ec || found.empty()) return bind_error("cannot resolve host: " + ec.message());
    address = found.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, bind.port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) set_cloexec(acceptor_->native_handle());
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return bind_error(ec.message());
  port_ = acceptor_->local_endpoint().port();
  // The acceptor belongs to lane 0: start accepting from there.
  asio::post(io_->impl().lanes[0]->io, [this] { accept(); });
  return Status::ok();
}

void BeastServer::accept() {
  IoLane& lane = io_->impl().next_lane();
  // The socket is born on the lane that will serve it.
  auto socket = std::make_shared<LaneSocket>(lane.io);
  acceptor_->async_accept(*socket, [this, &lane, socket](beast::error_code ec) {
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) {
      http_detail::start_session(std::move(*socket), core_, lane);
      return accept();
    }
    // Out of file descriptors or similar: retrying at once would spin.
    core_->counters.accept_errors->inc();
    accept_retry_->expires_after(std::chrono::milliseconds(kAcceptRetryMs));
    accept_retry_->async_wait([this](beast::error_code e) {
      if (!e) accept();
    });
  });
}

Result<std::unique_ptr<HttpServer>> start_server(HttpServerOptions options, AsyncHttpHandler handler,
                                                 Metrics& metrics, std::shared_ptr<IoThreads> io) {
  if (!io) io = IoThreads::start(std::max(1, options.threads), options.name);
  auto server = std::make_unique<BeastServer>(std::move(options), std::move(handler), metrics, std::move(io));
  if (Status s = server->listen(); !s) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler,
                                                      Metrics& metrics) {
  return start_server(std::move(options), make_async_handler(std::move(handler)), metrics, nullptr);
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, AsyncHttpHandler handler,
                                                      Metrics& metrics, std::shared_ptr<IoThreads> io) {
  return start_server(std::move(options), std::move(handler), metrics, std::move(io));
}

}  // namespace ezone

