// SPDX-License-Identifier: GPL-2.0
/*
 * A fake I2C adapter for livegate's VM tests: a bus (number `bus`, default 1) on
 * which one device at `addr` (default 0x3C, an SSD1306) acknowledges plain writes.
 * Every message written to it is recorded in debugfs, in order, as a 2-byte
 * little-endian length followed by the bytes:
 *   /sys/kernel/debug/livegate-fake-i2c/log   read: the record; write anything: clear
 *   /sys/kernel/debug/livegate-fake-i2c/fail  the next N transfers fail (-EREMOTEIO)
 * Reads return zeros. Other addresses are not acknowledged (-ENXIO).
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/i2c.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#define LOG_MAX (256 * 1024)

static int bus = 1;
module_param(bus, int, 0444);
static int addr = 0x3c;
module_param(addr, int, 0444);

static DEFINE_MUTEX(lock);
static u8 *log_buf;
static size_t log_len;
static u32 fail_next;
static struct dentry *dir;

static int fake_xfer(struct i2c_adapter *adap, struct i2c_msg *msgs, int num)
{
	int i, ret = num;

	mutex_lock(&lock);
	if (fail_next) {
		fail_next--;
		ret = -EREMOTEIO;
		goto out;
	}
	for (i = 0; i < num; i++) {
		if (msgs[i].addr != addr) {
			ret = -ENXIO;
			goto out;
		}
	}
	for (i = 0; i < num; i++) {
		struct i2c_msg *m = &msgs[i];

		if (m->flags & I2C_M_RD) {
			memset(m->buf, 0, m->len);
			continue;
		}
		if (log_len + 2 + m->len > LOG_MAX) {
			ret = -ENOSPC;
			goto out;
		}
		log_buf[log_len++] = m->len & 0xff;
		log_buf[log_len++] = m->len >> 8;
		memcpy(log_buf + log_len, m->buf, m->len);
		log_len += m->len;
	}
out:
	mutex_unlock(&lock);
	return ret;
}

static u32 fake_func(struct i2c_adapter *adap)
{
	return I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL;
}

static const struct i2c_algorithm fake_algo = {
	.master_xfer = fake_xfer,
	.functionality = fake_func,
};

static struct i2c_adapter fake_adapter = {
	.owner = THIS_MODULE,
	.class = I2C_CLASS_HWMON,
	.algo = &fake_algo,
	.name = "livegate fake i2c",
};

static ssize_t log_read(struct file *f, char __user *ubuf, size_t n, loff_t *pos)
{
	ssize_t ret;

	mutex_lock(&lock);
	ret = simple_read_from_buffer(ubuf, n, pos, log_buf, log_len);
	mutex_unlock(&lock);
	return ret;
}

static ssize_t log_write(struct file *f, const char __user *ubuf, size_t n, loff_t *pos)
{
	mutex_lock(&lock);
	log_len = 0;
	mutex_unlock(&lock);
	return n;
}

static const struct file_operations log_fops = {
	.owner = THIS_MODULE,
	.read = log_read,
	.write = log_write,
	.llseek = default_llseek,
};

static int __init fake_init(void)
{
	int ret;

	log_buf = vmalloc(LOG_MAX);
	if (!log_buf)
		return -ENOMEM;
	fake_adapter.nr = bus;
	ret = i2c_add_numbered_adapter(&fake_adapter);
	if (ret) {
		vfree(log_buf);
		return ret;
	}
	dir = debugfs_create_dir("livegate-fake-i2c", NULL);
	debugfs_create_file("log", 0600, dir, NULL, &log_fops);
	debugfs_create_u32("fail", 0600, dir, &fail_next);
	return 0;
}

static void __exit fake_exit(void)
{
	debugfs_remove_recursive(dir);
	i2c_del_adapter(&fake_adapter);
	vfree(log_buf);
}

module_init(fake_init);
module_exit(fake_exit);
MODULE_DESCRIPTION("livegate test: an I2C adapter that records what is written");
MODULE_LICENSE("GPL");
