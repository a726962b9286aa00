#include "actors/cluster/bounded_backend.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>

#include <boost/asio/ssl/error.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/stream_impl.hpp>
#include <caf/policy/tcp.hpp>

#include "core/metrics.hpp"
#include "storage/net/tls_impl.hpp"

namespace ezone {
namespace {

namespace cnet = caf::io::network;
using cnet::rw_state;

// OpenSSL's socket BIO writes with write(2), which raises SIGPIPE when the
// peer has closed the connection; this one sends with MSG_NOSIGNAL, as
// CAF's own TCP policy does. The BIO's data is the socket.
int bio_socket(BIO* bio) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(bio))); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ezone cluster socket");
    BIO_meth_set_write(m, [](BIO* bio, const char* data, int len) -> int {
      BIO_clear_retry_flags(bio);
      const ssize_t n = ::send(bio_socket(bio), data, static_cast<size_t>(len), MSG_NOSIGNAL);
      if (n < 0 && would_block()) BIO_set_retry_write(bio);
      return static_cast<int>(n);
    });
    BIO_meth_set_read(m, [](BIO* bio, char* data, int len) -> int {
      BIO_clear_retry_flags(bio);
      const ssize_t n = ::recv(bio_socket(bio), data, static_cast<size_t>(len), 0);
      if (n < 0 && would_block()) BIO_set_retry_read(bio);
      return static_cast<int>(n);
    });
    BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    BIO_meth_set_create(m, [](BIO* bio) {
      BIO_set_init(bio, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

// One TLS connection: its SSL and the context that made it (a reload of
// the files applies to later connections).
class TlsSession {
 public:
  TlsSession(std::shared_ptr<boost::asio::ssl::context> context, SSL* ssl, const ClusterTls& tls, std::string peer)
      : context_(std::move(context)), ssl_(ssl), tls_(tls), peer_(std::move(peer)) {}
  ~TlsSession() { SSL_free(ssl_); }
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // A dialled connection sends its ClientHello at once, so the handshake
  // does not wait for the first bytes BASP writes.
  void start_handshake() { settle(SSL_do_handshake(ssl_)); }

  rw_state read_some(size_t& result, cnet::native_socket, void* buf, size_t len) {
    result = 0;
    if (len == 0) return rw_state::success;  // SSL_read would take 0 for the end of the stream
    ERR_clear_error();
    return settle(SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX))), &result);
  }
  rw_state write_some(size_t& result, cnet::native_socket, const void* buf, size_t len) {
    ERR_clear_error();
    return settle(SSL_write(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT32_MAX))), &result);
  }
  // Records OpenSSL has already decrypted are not readable on the socket.
  bool must_read_more(cnet::native_socket, size_t) { return SSL_pending(ssl_) > 0; }

 private:
  // An SSL call's return: bytes moved, nothing yet (it waits for the
  // socket: the stream's event loop calls again), or the end.
  //
  // Cost: BASP's acceptor writes its handshake at once, and a write that
  // waits for the TLS handshake to finish keeps the socket registered for
  // writing, so the multiplexer polls it until the peer's last handshake
  // message arrives: about one round trip of one core at each accepted
  // connection (a node connects to each peer once, and again after a
  // break). Nothing else writes before the handshake.
  rw_state settle(int ret, size_t* result = nullptr) {
    if (result != nullptr) *result = ret > 0 ? static_cast<size_t>(ret) : 0;
    if (ret > 0) return rw_state::success;
    const int error = SSL_get_error(ssl_, ret);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return rw_state::success;
    if (!SSL_is_init_finished(ssl_)) report_handshake_failure(error);
    return rw_state::failure;
  }

  void report_handshake_failure(int error) {
    if (reported_) return;
    reported_ = true;
    const unsigned long code = ERR_peek_last_error();
    const int reason = ERR_GET_REASON(code);
    std::string why;
    if (code != 0)
      why = net::tls_error_text(
          boost::system::error_code(static_cast<int>(code), boost::asio::error::get_ssl_category()), ssl_);
    else
      why = error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL ? "the peer closed the connection"
                                                                         : "TLS error " + std::to_string(error);
    // The usual cause of each is a peer whose [tls] differs from this node's.
    const bool not_tls = reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                         reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_PACKET_LENGTH_TOO_LONG;
    const bool closed = code == 0 || reason == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    if (not_tls) why += " (the peer does not speak TLS: is [tls] cluster = true on it too?)";
    else if (closed) why += " (is [tls] cluster = true on the peer too, with a certificate from the same CA?)";
    if (tls_.handshake_failures) tls_.handshake_failures->inc();
    if (tls_.on_failure) tls_.on_failure("TLS handshake with " + peer_ + " failed: " + why);
  }

  std::shared_ptr<boost::asio::ssl::context> context_;
  SSL* const ssl_;
  const ClusterTls& tls_;
  const std::string peer_;
  bool reported_ = false;
};

// The stream policy over a TlsSession (CAF's stream_impl calls it).
class TlsPolicy {
 public:
  explicit TlsPolicy(std::shared_ptr<TlsSession> session) : session_(std::move(session)) {}
  rw_state read_some(size_t& result, cnet::native_socket fd, void* buf, size_t len) {
    return session_->read_some(result, fd, buf, len);
  }
  rw_state write_some(size_t& result, cnet::native_socket fd, const void* buf, size_t len) {
    return session_->write_some(result, fd, buf, len);
  }
  bool must_read_more(cnet::native_socket fd, size_t threshold) { return session_->must_read_more(fd, threshold); }

 private:
  std::shared_ptr<TlsSession> session_;
};

// A scribe (one TCP connection) over a stream with Policy (CAF's TCP, or
// TLS) that refuses to allocate a read buffer larger than its limit. CAF
// asks for the payload's exact size right after reading a header; a size
// over the limit shuts the socket down instead, so the next read sees end
// of stream and CAF closes the connection through its ordinary path
// (closing it from here would re-enter the broker that is handling this
// connection's data). The rest is what CAF's scribe_impl does.
template <class Policy>
class ClusterScribe final : public caf::io::scribe {
 public:
  template <class... Ts>
  ClusterScribe(cnet::default_multiplexer& mx, cnet::native_socket fd, const ClusterWireLimits& limits, Ts&&... policy)
      : scribe(cnet::conn_hdl_from_socket(fd)), limits_(limits), stream_(mx, fd, std::forward<Ts>(policy)...) {}

  void configure_read(caf::io::receive_policy::config config) override {
    bound(config);
    stream_.configure_read(config);
    if (!launched_) {
      launched_ = true;
      stream_.start(this);
    }
  }
  void ack_writes(bool enable) override { stream_.ack_writes(enable); }
  std::vector<char>& wr_buf() override { return stream_.wr_buf(); }
  std::vector<char>& rd_buf() override { return stream_.rd_buf(); }
  void graceful_shutdown() override {
    stream_.graceful_shutdown();
    detach(&stream_.backend(), false);
  }
  void flush() override { stream_.flush(this); }
  std::string addr() const override {
    auto x = cnet::remote_addr_of_fd(stream_.fd());
    return x ? *x : "";
  }
  uint16_t port() const override {
    auto x = cnet::remote_port_of_fd(stream_.fd());
    return x ? *x : 0;
  }
  void add_to_loop() override { stream_.activate(this); }
  void remove_from_loop() override { stream_.passivate(); }

 private:
  void bound(caf::io::receive_policy::config& config) {
    if (refused_) {
      config = {caf::io::receive_policy_flag::at_most, 1};
      return;
    }
    const bool handshake = payloads_ == 0;
    const size_t limit = handshake ? limits_.handshake_bytes_max : limits_.frame_bytes_max;
    // Reads of a BASP header are 32 bytes; anything bigger is a payload.
    if (config.second > kHeaderBytes) ++payloads_;
    if (config.second <= limit) return;
    refused_ = true;
    if (limits_.refused) limits_.refused->inc();
    if (limits_.on_refused)
      limits_.on_refused("closed a cluster connection from " + addr() + ":" + std::to_string(port()) +
                         " that announced a " + std::to_string(config.second) + "-byte " +
                         (handshake ? "handshake" : "message") + " (limit " + std::to_string(limit) + ")");
    ::shutdown(stream_.fd(), SHUT_RDWR);
    config = {caf::io::receive_policy_flag::at_most, 1};
  }

  static constexpr size_t kHeaderBytes = 32;
  const ClusterWireLimits& limits_;
  cnet::stream_impl<Policy> stream_;
  bool launched_ = false;
  uint64_t payloads_ = 0;
  bool refused_ = false;
};

class BoundedMultiplexer final : public cnet::default_multiplexer {
 public:
  // Only ClusterSystemConfig loads this backend, so the config is one.
  explicit BoundedMultiplexer(caf::actor_system* sys)
      : default_multiplexer(sys), config_(static_cast<const ClusterSystemConfig&>(sys->config())) {}

  // Accepted connections (and, without TLS, dialled ones).
  caf::io::scribe_ptr new_scribe(cnet::native_socket fd) override {
    if (config_.tls.enabled()) {
      auto host = cnet::remote_addr_of_fd(fd);
      auto port = cnet::remote_port_of_fd(fd);
      const std::string peer = (host ? *host : "?") + ":" + (port ? std::to_string(*port) : "?");
      if (auto scribe = tls_scribe(fd, false, "", "the peer " + peer)) return scribe;
      ::shutdown(fd, SHUT_RDWR);  // no SSL: a plain scribe that sees end of stream at once
    }
    return caf::make_counted<ClusterScribe<caf::policy::tcp>>(*this, fd, config_.limits);
  }

  caf::expected<caf::io::scribe_ptr> new_tcp_scribe(const std::string& host, uint16_t port) override {
    if (!config_.tls.enabled()) return default_multiplexer::new_tcp_scribe(host, port);
    auto fd = cnet::new_tcp_connection(host, port);
    if (!fd) return std::move(fd.error());
    const std::string peer = host + ":" + std::to_string(port);
    if (auto scribe = tls_scribe(*fd, true, host, peer)) return scribe;
    cnet::close_socket(*fd);
    return caf::make_error(caf::sec::cannot_connect_to_node, "cannot start TLS with " + peer);
  }

 private:
  // Null when OpenSSL cannot make the connection's SSL (out of memory).
  caf::io::scribe_ptr tls_scribe(cnet::native_socket fd, bool dialled, const std::string& host,
                                 const std::string& peer) {
    auto context = (dialled ? config_.tls.client : config_.tls.server)->impl().current();
    SSL* ssl = SSL_new(context->native_handle());
    BIO* bio = ssl ? BIO_new(socket_bio_method()) : nullptr;
    if (bio == nullptr) {
      SSL_free(ssl);
      if (config_.tls.on_failure) config_.tls.on_failure("cannot start TLS with " + peer + ": out of memory");
      return nullptr;
    }
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
    SSL_set_bio(ssl, bio, bio);
    SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_set_options(ssl, SSL_OP_NO_RENEGOTIATION);
    if (dialled) {
      net::tls_expect_host(ssl, host);
      SSL_set_connect_state(ssl);
    } else {
      SSL_set_accept_state(ssl);
    }
    auto session = std::make_shared<TlsSession>(std::move(context), ssl, config_.tls, peer);
    auto scribe = caf::make_counted<ClusterScribe<TlsPolicy>>(*this, fd, config_.limits, TlsPolicy(session));
    if (dialled) session->start_handshake();  // after the stream made the socket non-blocking
    return scribe;
  }

  const ClusterSystemConfig& config_;  // outlives the system
};

}  // namespace

ClusterSystemConfig::ClusterSystemConfig() { load<caf::io::middleman, BoundedMultiplexer>(); }

}  // namespace ezone
