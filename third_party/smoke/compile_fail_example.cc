// Must NOT compile: checked by :compile_fail_example.
#include "third_party/smoke/compile_fail_example.h"

int main() {
  NonCopyable a;
  NonCopyable b = a;  // error: copy constructor is deleted
  (void)b;
}
