// Type erasure for auth method sides, so that a run-time list of methods can be configured.
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include "socks5/auth/method.hpp"
#include "socks5/auth/no_auth.hpp"

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

// A side may answer to more than one code (the SSL method: X'86' and X'06'), by having
//   std::vector<method_code> codes() const;   // in its order of preference, code() first
// Each code then has an alias, the same side answering as that code, which is what the
// method selection hands out: its code() is the code the peer is told.
template <class S>
concept MultiCodeSide = requires(const S& s) {
  { s.codes() } -> std::convertible_to<std::vector<method_code>>;
};

template <class Context, class Derived>
class any_side {
 public:
  template <class Side>
  explicit any_side(Side side)
      : impl_(std::make_shared<model<Side>>(std::move(side))), code_(impl_->code()) {
    if constexpr (MultiCodeSide<Side>) {
      const std::vector<method_code> codes = static_cast<const model<Side>&>(*impl_).side.codes();
      if (codes.size() > 1) {
        auto aliases = std::make_shared<std::vector<Derived>>();
        for (method_code c : codes)
          aliases->push_back(Derived(alias{impl_, c}));
        aliases_ = std::move(aliases);
      }
    }
  }

  // The code this side answers as (for a side of several codes, its first until an alias of
  // another is taken with as()).
  method_code code() const { return code_; }
  // Every code this side answers to, in its order of preference.
  std::vector<method_code> codes() const {
    if (!aliases_) return {code_};
    std::vector<method_code> all;
    for (const Derived& a : *aliases_)
      all.push_back(a.code_);
    return all;
  }
  // This side answering as `c`, or null when it does not answer to `c`. The alias lives as
  // long as any copy of this side.
  const Derived* as(method_code c) const {
    if (!aliases_) return c == code_ ? static_cast<const Derived*>(this) : nullptr;
    const auto it = std::find_if(aliases_->begin(), aliases_->end(),
                                 [c](const Derived& a) { return a.code_ == c; });
    return it == aliases_->end() ? nullptr : &*it;
  }
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

 protected:
  struct alias {
    std::shared_ptr<const concept_t> impl;
    method_code code;
  };
  explicit any_side(alias a) : impl_(std::move(a.impl)), code_(a.code) {}

 private:
  // Immutable once built, so copies of an options struct share it.
  std::shared_ptr<const concept_t> impl_;
  method_code code_;
  std::shared_ptr<const std::vector<Derived>> aliases_;  // one per code; null: a single code
};

}  // namespace detail

// Any client side of any AuthMethod. A type that is not a ClientAuthSide is still accepted by
// overload resolution, and then fails a static_assert naming the requirement it misses (see
// require_client_auth_side in auth/method.hpp) rather than a "no matching constructor" error.
class any_client_auth : public detail::any_side<client_auth_context, any_client_auth> {
 public:
  // The self check comes first: it keeps copying from asking whether a copy is a side.
  template <class Side>
  requires detail::other_than<Side, any_client_auth> && ClientAuthSide<Side> any_client_auth(
      Side side)
      : any_side(std::move(side)) {}

  template <class Side>
  requires detail::other_than<Side, any_client_auth> any_client_auth(Side)
      : any_client_auth(NoAuth::client{}) {  // a placeholder: this never compiles
    static_assert(require_client_auth_side<Side>());
  }

 private:
  // An alias of a side of several codes (see any_side).
  friend class detail::any_side<client_auth_context, any_client_auth>;
  explicit any_client_auth(alias a) : any_side(std::move(a)) {}
};

// Any server side of any AuthMethod; other types fail a static_assert as for any_client_auth.
class any_server_auth : public detail::any_side<server_auth_context, any_server_auth> {
 public:
  // The self check comes first: it keeps copying from asking whether a copy is a side.
  template <class Side>
  requires detail::other_than<Side, any_server_auth> && ServerAuthSide<Side> any_server_auth(
      Side side)
      : any_side(std::move(side)) {}

  template <class Side>
  requires detail::other_than<Side, any_server_auth> any_server_auth(Side)
      : any_server_auth(NoAuth::server{}) {  // a placeholder: this never compiles
    static_assert(require_server_auth_side<Side>());
  }

 private:
  // An alias of a side of several codes (see any_side).
  friend class detail::any_side<server_auth_context, any_server_auth>;
  explicit any_server_auth(alias a) : any_side(std::move(a)) {}
};

}  // namespace socks5
