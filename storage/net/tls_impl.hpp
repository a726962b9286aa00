// The Asio side of TlsContext, for the .cpp files that speak TLS only.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "storage/net/tls.hpp"

namespace ezone::net {

struct TlsContext::Impl {
  Role role = Role::client;
  TlsFiles files;
  bool client_cert = false;
  // The context new connections take (current()); reload() swaps it. A
  // connection holds the one it started with for its whole life, so a
  // reload never changes a connection under way.
  std::shared_ptr<boost::asio::ssl::context> context;
  std::shared_ptr<boost::asio::ssl::context> current() const;
  std::mutex reload_mutex;
  std::string loaded;  // the files' bytes when last loaded
};

// What went wrong in a TLS operation, for error messages: the OpenSSL
// reason, and when the peer's certificate was refused, why (e.g.
// "certificate verify failed: self-signed certificate"). ssl may be null.
std::string tls_error_text(const boost::system::error_code& ec, SSL* ssl);

// Makes a client connection's handshake check that the server's
// certificate names host: an IP address (subjectAltName IP), or a DNS
// name, which is also sent as SNI. OpenSSL does the check, so a mismatch
// is reported as one ("IP address mismatch", "hostname mismatch").
void tls_expect_host(SSL* ssl, const std::string& host);

}  // namespace ezone::net
