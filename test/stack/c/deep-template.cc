// The C++ program of test/stack/cpp.test.ts and test/symbols/demangle.test.ts: a crash at the
// bottom of a deep template recursion, reached through namespaces, an anonymous namespace, a
// class template's const operator(), a std::function and lambdas, so that the backtrace holds
// each kind of mangled name.
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace outer::inner {

template <int N, typename T> struct Deep {
  __attribute__((noinline)) static int run(T *p, const std::vector<std::string> &v) {
    return Deep<N - 1, T>::run(p, v) + 1;
  }
};

template <typename T> struct Deep<0, T> {
  __attribute__((noinline)) static int run(T *p, const std::vector<std::string> &v) {
    *p = static_cast<T>(v.size());  // p is null: the crash
    return static_cast<int>(*p);
  }
};

template <typename K, typename V> class Table {
 public:
  __attribute__((noinline)) int operator()(const std::map<K, V> &m, long *target) const {
    std::vector<std::string> names;
    for (const auto &kv : m) names.push_back(kv.second);
    return Deep<6, long>::run(target, names);
  }
};

}  // namespace outer::inner

namespace {

__attribute__((noinline)) int through_function(const std::function<int(long *)> &f, long *p) {
  return f(p) + 1;
}

}  // namespace

int main(int argc, char **) {
  std::map<int, std::string> m{{1, "one"}, {2, "two"}};
  outer::inner::Table<int, std::string> table;
  long *target = argc > 100 ? new long : nullptr;
  auto call = [&](long *p) { return table(m, p); };
  return through_function([&](long *p) { return call(p) + 2; }, target);
}
