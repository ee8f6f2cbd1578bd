// Error: what went wrong, in words a user can act on, plus the protocol status it maps to.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "ringlog/protocol.h"

namespace ringlog {

struct Error {
    ringlog_status status = RINGLOG_STATUS_INVALID_ARGUMENT;
    std::string message;
};

// Result<T>: a value or an Error (std::expected arrives with C++23).
template <typename T>
class Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    const T& value() const { return std::get<0>(v_); }
    T& operator*() { return value(); }
    T* operator->() { return &value(); }
    const Error& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, Error> v_;
};

inline Error invalid(std::string message) {
    return Error{RINGLOG_STATUS_INVALID_ARGUMENT, std::move(message)};
}

std::string errnoText(int err);

}  // namespace ringlog
