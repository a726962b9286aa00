// TLS contexts for the HTTP server (actors/http) and client
// (storage/net/http_client): certificates and keys from PEM files, checked
// when loaded so a bad file fails at start with a message that names it.
//
// Asio's SSL headers stay in tls.cpp and tls_impl.hpp (which only the
// .cpp files that speak TLS include): they cost compile time.
//
// What a context enforces:
// - TLS 1.2 or later; no session tickets (a connection is long-lived, and
//   a ticket the server sends after the handshake would look like unread
//   data on an idle keep-alive connection);
// - server: presents cert_file; with ca_file, asks each client for a
//   certificate signed by it and refuses the connection without one
//   (mutual TLS);
// - client: checks the server's certificate against ca_file and its name
//   (DNS name or IP address in subjectAltName) against the host it dialled;
//   with cert_file, presents it when the server asks.
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"

namespace ezone::net {

struct TlsFiles {
  std::string cert_file;  // PEM certificate chain (leaf first)
  std::string key_file;   // PEM private key of cert_file
  std::string ca_file;    // PEM CA bundle that peers' certificates must chain to
};

class TlsContext {
 public:
  struct Impl;
  enum class Role { server, client };

  // A server needs cert_file and key_file; ca_file (optional) turns on
  // client certificates. A client needs ca_file; cert_file and key_file
  // are optional but go together. Errors name the file and what is wrong
  // with it (invalid_argument, or not_found for a missing file).
  static Result<std::shared_ptr<TlsContext>> server(const TlsFiles& files);
  static Result<std::shared_ptr<TlsContext>> client(const TlsFiles& files);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Whether a server asks its clients for certificates.
  bool requires_client_cert() const;
  Impl& impl() const { return *impl_; }

  // Reads the files again (a renewed certificate, a new CA bundle): true
  // when they changed and were loaded, false when they are as they were;
  // an error (as server/client give) keeps the context in force. New
  // connections take the new one; open ones keep theirs. Thread-safe.
  Result<bool> reload() const;

 private:
  static Result<std::shared_ptr<TlsContext>> make(Role role, const TlsFiles& files);
  explicit TlsContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using TlsContextPtr = std::shared_ptr<const TlsContext>;

// A client's TLS as a config section states it (ca_file, cert_file,
// key_file; config/tls_config.cpp), and the context loaded from those
// files. No context: plain HTTP.
struct ClientTls {
  TlsFiles files;
  TlsContextPtr context;
  explicit operator bool() const { return context != nullptr; }
  // The file a report names: the certificate, or the CA without one.
  const std::string& shown_file() const { return files.cert_file.empty() ? files.ca_file : files.cert_file; }
};

// The client context of a command-line tool (ezctl, soa_echo) from its
// --ca-file, --cert-file and --key-file (given here as files), each taken
// from EZONE_TLS_CA_FILE, EZONE_TLS_CERT_FILE or EZONE_TLS_KEY_FILE in the
// environment when empty. Null without a CA file: plain HTTP. Errors name
// the option.
Result<TlsContextPtr> client_tls_from_options(TlsFiles files);

}  // namespace ezone::net
