ovs-vsctl add-bond br0 bond0 eth0 eth1
