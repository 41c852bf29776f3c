// SPDX-License-Identifier: GPL-2.0
/*
 * mmapper_importer: a DMA-BUF importer for mmapper's selftests, and
 * nothing more.  An open descriptor of /dev/mmapper_importer imports one
 * DMA-BUF (MMAPPER_IMPORTER_IMPORT) and maps it on mmap() through
 * dma_buf_mmap(), the way a DRM driver maps an imported buffer for user
 * space: with the VMA as that driver leaves it first, one of the presets
 * of mmapper_importer.h.  The exporter's ->mmap gets that VMA, not one
 * mmap() made.
 *
 * Root only (the node is 0600).  Never shipped: scripts/build-importer.sh
 * builds it for the test VMs.
 */
#include <linux/dma-buf.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "mmapper_importer.h"

MODULE_IMPORT_NS("DMA_BUF");

struct mmapper_importer {
	struct mutex lock;	/* @dmabuf and @preset */
	struct dma_buf *dmabuf;
	unsigned int preset;
};

static int mmapper_importer_open(struct inode *inode, struct file *file)
{
	struct mmapper_importer *imp = kzalloc(sizeof(*imp), GFP_KERNEL);

	if (!imp)
		return -ENOMEM;
	mutex_init(&imp->lock);
	file->private_data = imp;
	return 0;
}

static int mmapper_importer_release(struct inode *inode, struct file *file)
{
	struct mmapper_importer *imp = file->private_data;

	if (imp->dmabuf)
		dma_buf_put(imp->dmabuf);
	mutex_destroy(&imp->lock);
	kfree(imp);
	return 0;
}

static long mmapper_importer_ioctl(struct file *file, unsigned int cmd,
				   unsigned long arg)
{
	struct mmapper_importer *imp = file->private_data;
	struct mmapper_importer_import req;
	struct dma_buf *dmabuf;

	if (cmd != MMAPPER_IMPORTER_IMPORT)
		return -ENOTTY;
	if (copy_from_user(&req, (void __user *)arg, sizeof(req)))
		return -EFAULT;
	if (req.preset >= MMAPPER_IMPORTER_NR_PRESETS)
		return -EINVAL;
	dmabuf = dma_buf_get(req.fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	mutex_lock(&imp->lock);
	swap(imp->dmabuf, dmabuf);
	imp->preset = req.preset;
	mutex_unlock(&imp->lock);
	if (dmabuf)
		dma_buf_put(dmabuf);
	return 0;
}

/* Context: the mmap lock held, as for every ->mmap; then @imp's lock. */
static int mmapper_importer_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mmapper_importer *imp = file->private_data;
	int ret = -ENODEV;

	mutex_lock(&imp->lock);
	if (!imp->dmabuf)
		goto out;
	switch (imp->preset) {
	case MMAPPER_IMPORTER_PFNMAP:
		vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP);
		vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
		break;
	case MMAPPER_IMPORTER_MIXEDMAP:
		vm_flags_set(vma, VM_MIXEDMAP | VM_DONTEXPAND);
		vma->vm_page_prot = pgprot_writecombine(vm_get_page_prot(vma->vm_flags));
		break;
	}
	/* The VMA's file becomes the DMA-BUF's. */
	ret = dma_buf_mmap(imp->dmabuf, vma, vma->vm_pgoff);
out:
	mutex_unlock(&imp->lock);
	return ret;
}

static const struct file_operations mmapper_importer_fops = {
	.owner		= THIS_MODULE,
	.open		= mmapper_importer_open,
	.release	= mmapper_importer_release,
	.unlocked_ioctl	= mmapper_importer_ioctl,
	.mmap		= mmapper_importer_mmap,
};

static struct miscdevice mmapper_importer_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "mmapper_importer",
	.fops	= &mmapper_importer_fops,
	.mode	= 0600,
};

module_misc_device(mmapper_importer_misc);

MODULE_DESCRIPTION("mmapper selftests: a DMA-BUF importer that maps imports with dma_buf_mmap()");
MODULE_LICENSE("GPL");
