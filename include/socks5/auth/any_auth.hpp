// Type erasure for auth method sides, so that a run-time list of methods can be configured.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "socks5/auth/method.hpp"

namespace socks5 {

class auth_machine {
 public:
  virtual ~auth_machine() = default;
  virtual auth_step next() = 0;
  virtual std::string identity() const = 0;
  virtual std::unique_ptr<protection> take_protection() = 0;
};

namespace detail {

template <AuthMachine M>
class machine_model final : public auth_machine {
 public:
  explicit machine_model(M m) : m_(std::move(m)) {}
  auth_step next() override { return m_.next(); }
  std::string identity() const override { return m_.identity(); }
  std::unique_ptr<protection> take_protection() override { return m_.take_protection(); }

 private:
  M m_;
};

template <class Context>
class any_side {
 public:
  template <class Side>
  explicit any_side(Side side) : impl_(std::make_shared<model<Side>>(std::move(side))) {}

  method_code code() const { return impl_->code(); }
  std::unique_ptr<auth_machine> start(const Context& c) const { return impl_->start(c); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual method_code code() const = 0;
    virtual std::unique_ptr<auth_machine> start(const Context& c) const = 0;
  };
  template <class Side>
  struct model final : concept_t {
    explicit model(Side s) : side(std::move(s)) {}
    method_code code() const override { return side.code(); }
    std::unique_ptr<auth_machine> start(const Context& c) const override {
      using machine = std::remove_cvref_t<decltype(side.start(c))>;
      return std::make_unique<machine_model<machine>>(side.start(c));
    }
    Side side;
  };
  // Immutable once built, so copies of an options struct share it.
  std::shared_ptr<const concept_t> impl_;
};

}  // namespace detail

// Any client side of any AuthMethod.
class any_client_auth : public detail::any_side<client_auth_context> {
 public:
  // The self check comes first: it keeps copying from asking whether a copy is a side.
  template <class Side>
  requires(!std::is_same_v<std::remove_cvref_t<Side>, any_client_auth>) &&
      ClientAuthSide<Side> any_client_auth(Side side) : any_side(std::move(side)) {}
};

// Any server side of any AuthMethod.
class any_server_auth : public detail::any_side<server_auth_context> {
 public:
  // The self check comes first: it keeps copying from asking whether a copy is a side.
  template <class Side>
  requires(!std::is_same_v<std::remove_cvref_t<Side>, any_server_auth>) &&
      ServerAuthSide<Side> any_server_auth(Side side) : any_side(std::move(side)) {}
};

}  // namespace socks5
