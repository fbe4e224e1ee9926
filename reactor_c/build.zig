//! build.zig — builds Dokio's C reactor as a shared library (libdokio.so /
//! libdokio.dylib) with the flags `deno task build` uses (ffi/build.ts).
//!
//!   zig build                              host library into zig-out/lib/
//!   zig build -Dtarget=aarch64-macos       cross build
//!   zig build -Doptimize=debug             unoptimised, with safety checks
//!
//! Run it from reactor_c/.  Invariant: the source list and flags match
//! ffi/build.ts, so both builds produce the same library, which exports only
//! the dk_* ABI (hidden visibility; dokio.h marks the ABI DK_API).
const std = @import("std");

const sources = [_][]const u8{ "common.c", "clock.c", "uring.c", "ready.c", "epoll.c", "kqueue.c", "fs.c", "net.c" };

pub fn build(b: *std.Build) void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.option(
        std.builtin.Optimize,
        "optimize",
        "Optimization mode: debug, safe, fast (default), small",
    ) orelse .fast;

    const mod = b.createModule(.{
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .pic = true,
        // As ffi/build.ts's -s: no debug info, so no machine's paths in the library.
        .strip = true,
    });
    const flags: []const []const u8 = if (target.result.os.tag == .linux)
        &.{ "-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE" }
    else
        &.{ "-std=c11", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror" };
    mod.addCSourceFiles(.{ .files = &sources, .flags = flags });

    const lib = b.addLibrary(.{ .name = "dokio", .linkage = .dynamic, .root_module = mod });
    b.installArtifact(lib);
}
