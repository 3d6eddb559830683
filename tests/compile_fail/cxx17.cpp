// Compiled as C++17: the public headers refuse with #error "cosocks needs C++20".
#include "socks5/error.hpp"
#include "socks5/auth/method.hpp"

int main() {}
