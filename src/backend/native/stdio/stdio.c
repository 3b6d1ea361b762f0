/*
 * rnn's stdio shim: sends what the process writes to its standard error (file descriptor 2) into a temporary
 * file for a while, then puts standard error back and returns what was written.
 *
 * TensorFlow 2.21 logs through abseil while its libraries load (their static initializers run inside
 * dlopen), before TensorFlow reads TF_CPP_MIN_LOG_LEVEL and before abseil's logging is initialized, so those
 * lines reach file descriptor 2 whatever the process sets. rnn loads tfjs-node between begin() and end() and
 * shows what was written by TensorFlow's own log level (src/backend/tf-log.ts).
 *
 *   begin()  → undefined   (throws if a capture is running or the file cannot be made)
 *   end()    → string      (what was written to standard error since begin(); standard error is restored)
 */
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int saved_fd = -1;
static FILE *capture = NULL;

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value begin(napi_env env, napi_callback_info info) {
  (void)info;
  if (capture != NULL) {
    napi_throw_error(env, NULL, "a capture of standard error is already running");
    return NULL;
  }
  fflush(stderr);
  FILE *f = tmpfile();
  if (f == NULL) return throw_errno(env, "tmpfile");
  int saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (saved < 0) {
    fclose(f);
    return throw_errno(env, "dup of standard error");
  }
  if (dup2(fileno(f), 2) < 0) {
    close(saved);
    fclose(f);
    return throw_errno(env, "dup2 onto standard error");
  }
  saved_fd = saved;
  capture = f;
  return NULL;
}

static napi_value end(napi_env env, napi_callback_info info) {
  (void)info;
  if (capture == NULL) {
    napi_throw_error(env, NULL, "no capture of standard error is running");
    return NULL;
  }
  fflush(stderr);
  int restored = dup2(saved_fd, 2);
  close(saved_fd);
  saved_fd = -1;
  FILE *f = capture;
  capture = NULL;
  if (restored < 0) {
    fclose(f);
    return throw_errno(env, "dup2 back onto standard error");
  }
  /* fd 2 shared f's file description (and its offset): the file holds exactly what was written. */
  int fd = fileno(f);
  off_t size = lseek(fd, 0, SEEK_END);
  char *text = NULL;
  size_t got = 0;
  if (size > 0 && lseek(fd, 0, SEEK_SET) == 0) {
    text = malloc((size_t)size);
    while (text != NULL && got < (size_t)size) {
      ssize_t n = read(fd, text + got, (size_t)size - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
  }
  fclose(f);
  napi_value out;
  napi_status s = napi_create_string_utf8(env, text != NULL ? text : "", got, &out);
  free(text);
  return s == napi_ok ? out : NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"begin", NULL, begin, NULL, NULL, NULL, napi_default, NULL},
      {"end", NULL, end, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
