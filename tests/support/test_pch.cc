// The owner of the suites' precompiled header (tests/CMakeLists.txt): a program that does
// nothing, built with the suites' flags.
int main() {
  return 0;
}
